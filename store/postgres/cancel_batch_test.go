package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// CancelCampaignBatch, walked with batches of one, removes the deliveries
// it can read and leaves one it cannot (a newer version's), logged, as
// CancelCampaign does: the walk goes past it.
func TestCancelCampaignBatchLeavesADeliveryItCannotReadToOthers(t *testing.T) {
	schema := testSchema(t)
	var log syncLog
	s := openStore(t, postgres.WithSchema(schema), postgres.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	schedule(t, s, "ns", "cat", "d-cat", t0.Add(2*time.Second))
	makeUnreadable(t, s, schema, "bob")

	var ids []string
	cursor := ""
	for calls := 1; ; calls++ {
		require.LessOrEqual(t, calls, 4, "the walk does not end")
		removed, next, err := s.CancelCampaignBatch(ctx, "ns", "f", cursor, 1)
		require.NoError(t, err, "one unreadable delivery fails the stop of its campaign")
		for _, c := range removed {
			ids = append(ids, c.Pending.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, []string{"d-ann", "d-cat"}, ids, "in due order")
	require.Contains(t, log.String(), "d-bob")
	st, err := s.Stats(ctx, "ns")
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Pending, "the unreadable delivery stays in the queue")
}

// A cursor is good for the campaign and namespace it was made for, as it
// was made: changed, or passed for another, it is refused.
func TestCancelCampaignBatchRefusesAChangedCursor(t *testing.T) {
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	_, cursor, err := s.CancelCampaignBatch(ctx, "ns", "f", "", 1)
	require.NoError(t, err)
	require.NotEmpty(t, cursor)
	for i := range len(cursor) {
		b := []byte(cursor)
		b[i] ^= 1
		_, _, err := s.CancelCampaignBatch(ctx, "ns", "f", string(b), 1)
		require.ErrorIs(t, err, store.ErrInvalidQuery, "byte %d changed: %q", i, b)
	}
	_, _, err = s.CancelCampaignBatch(ctx, "ns", "g", cursor, 1)
	require.ErrorIs(t, err, store.ErrInvalidQuery, "another campaign's cursor")
	_, _, err = s.CancelCampaignBatch(ctx, "ns2", "f", cursor, 1)
	require.ErrorIs(t, err, store.ErrInvalidQuery, "another namespace's cursor")
	removed, next, err := s.CancelCampaignBatch(ctx, "ns", "f", cursor, 1)
	require.NoError(t, err)
	require.Len(t, removed, 1)
	require.Equal(t, "d-bob", removed[0].Pending.ID)
	require.NotEmpty(t, next, "a batch as long as its limit may not be the last")
	removed, next, err = s.CancelCampaignBatch(ctx, "ns", "f", next, 1)
	require.NoError(t, err)
	require.Empty(t, removed)
	require.Empty(t, next)
}
