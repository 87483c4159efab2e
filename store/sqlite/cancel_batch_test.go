package sqlite_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/batchcursor"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
)

// walkCancel walks CancelCampaignBatch over campaign f of ns with limit,
// and returns the IDs it removed, in order.
func walkCancel(t *testing.T, s *sqlite.Store, ns string, limit int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for calls := 1; ; calls++ {
		require.LessOrEqual(t, calls, 100, "the walk does not end")
		removed, next, err := s.CancelCampaignBatch(context.Background(), ns, "f", cursor, limit)
		require.NoError(t, err)
		require.LessOrEqual(t, len(removed), limit)
		for _, c := range removed {
			ids = append(ids, c.Pending.ID)
		}
		if next == "" {
			return ids
		}
		cursor = next
	}
}

// Rows without due_at (a process of an earlier version wrote them during
// a rolling upgrade) are walked too, before the others, whatever the
// limit, and the walk goes past one it leaves (one it cannot read).
func TestCancelCampaignBatchWalksUndatedRows(t *testing.T) {
	path := testPath(t)
	s := openStore(t, path)
	for _, limit := range []int{1, 2, 3, 100} {
		ns := fmt.Sprint("ns", limit)
		for i := range 6 {
			schedule(t, s, ns, fmt.Sprint("u", i), fmt.Sprintf("d%d", i), t0.Add(time.Duration(5-i)*time.Second))
		}
		_, err := rawDB(t, path).Exec(`UPDATE campaignconnector_pending SET due_at = NULL WHERE ns = ? AND id IN ('d1', 'd4', 'd5')`, ns)
		require.NoError(t, err)
		_, err = rawDB(t, path).Exec(`UPDATE campaignconnector_pending SET data = replace(data, '"email_received"', '"whatsapp_read"') WHERE ns = ? AND id = 'd4'`, ns)
		require.NoError(t, err)
		got := walkCancel(t, s, ns, limit)
		require.Equal(t, []string{"d1", "d5", "d3", "d2", "d0"}, got, "limit %d", limit)
		st, err := s.Stats(context.Background(), ns)
		require.NoError(t, err)
		require.EqualValues(t, 1, st.Pending, "limit %d: the unreadable delivery stays", limit)
	}
}

// CancelCampaignBatch removes the deliveries it can read and leaves one it
// cannot (a newer version's), logged, as CancelCampaign does: the walk
// goes past it.
func TestCancelCampaignBatchLeavesADeliveryItCannotReadToOthers(t *testing.T) {
	path := testPath(t)
	var log strings.Builder
	s := openStore(t, path, sqlite.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	schedule(t, s, "ns", "cat", "d-cat", t0.Add(2*time.Second))
	_, err := rawDB(t, path).Exec(`UPDATE campaignconnector_pending SET data = replace(data, '"email_received"', '"whatsapp_read"') WHERE id = 'd-bob'`)
	require.NoError(t, err)

	require.Equal(t, []string{"d-ann", "d-cat"}, walkCancel(t, s, "ns", 1))
	require.Contains(t, log.String(), "d-bob")
	st, err := s.Stats(context.Background(), "ns")
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Pending, "the unreadable delivery stays in the queue")
}

// A walk goes on from its cursor in due order (the cursors' checks are
// the conformance suite's).
func TestCancelCampaignBatchGoesOnFromItsCursor(t *testing.T) {
	s := openStore(t, testPath(t))
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	_, cursor, err := s.CancelCampaignBatch(ctx, "ns", "f", "", 1)
	require.NoError(t, err)
	removed, _, err := s.CancelCampaignBatch(ctx, "ns", "f", cursor, 1)
	require.NoError(t, err)
	require.Len(t, removed, 1)
	require.Equal(t, "d-bob", removed[0].Pending.ID)
}

// A cursor of the PostgreSQL store, of the same shape, is refused: read
// as nanoseconds, its microseconds would take the walk back to 1970, before
// the deliveries it had passed.
func TestCancelCampaignBatchRefusesAnotherStoresCursor(t *testing.T) {
	s := openStore(t, testPath(t))
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	removed, next, err := s.CancelCampaignBatch(ctx, "ns", "f", postgresCursor("ns", "f", "d-ann", t0), 10)
	require.ErrorIs(t, err, store.ErrInvalidQuery, "removed %v, next %q", removed, next)
	st, err := s.Stats(ctx, "ns")
	require.NoError(t, err)
	require.EqualValues(t, 2, st.Pending)
}

// postgresCursor returns the cursor store/postgres's CancelCampaignBatch
// makes for a delivery due at due: the same shape as this store's, its
// time in microseconds.
func postgresCursor(ns, campaignID, id string, due time.Time) string {
	return batchcursor.Encode("postgres", ns, campaignID, batchcursor.Key{Kind: 't', N: due.UnixMicro(), ID: id})
}
