package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// A pending delivery this version cannot read (a newer version's) does
// not stop the listing of the others, nor end a page early: it is listed
// with what the store knows of it without decoding it, in its place, and
// logged.
func TestListPendingListsADeliveryItCannotRead(t *testing.T) {
	schema := testSchema(t)
	var log syncLog
	s := openStore(t, postgres.WithSchema(schema), postgres.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	schedule(t, s, "ns", "cat", "d-cat", t0.Add(2*time.Second))
	makeUnreadable(t, s, schema, "bob")

	for _, campaign := range []string{"", "f"} {
		page, err := s.ListPending(ctx, "ns", store.PendingQuery{CampaignID: campaign, Limit: 2})
		require.NoError(t, err, "one unreadable delivery stops the listing")
		require.Len(t, page, 2, "a full page, so the next is asked for")
		require.Equal(t, "d-ann", page[0].Pending.ID)
		require.Equal(t, event.EmailReceived, page[0].Pending.Trigger.Kind)
		bob := page[1]
		require.Equal(t, "bob", bob.UserID)
		require.Equal(t, "d-bob", bob.Pending.ID)
		require.Equal(t, "f", bob.Pending.CampaignID)
		require.True(t, bob.Pending.DueAt.Equal(t0.Add(time.Second)), "due %v", bob.Pending.DueAt)
		require.Zero(t, bob.Pending.Trigger.Kind, "what this version cannot read is left out")
		rest, err := s.ListPending(ctx, "ns", store.PendingQuery{CampaignID: campaign, Limit: 2,
			AfterDue: bob.Pending.DueAt, AfterID: bob.Pending.ID})
		require.NoError(t, err)
		require.Len(t, rest, 1)
		require.Equal(t, "d-cat", rest[0].Pending.ID)
	}
	require.Contains(t, log.String(), "d-bob")
}
