package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// An event ID whose window has ended but which Prune has not deleted yet is
// remembered again by the next event that carries it. Prune deletes
// expired IDs without the users' locks, so it can delete that row between
// the transaction's read of it and its write: the transaction's op must
// still be applied exactly once, and the ID remembered until the new end
// of its window. (The client reads a write's row count only after the
// COMMIT sent in the same round trip has run: a renewal must not depend
// on the row still being there.) It runs with one op (Update) and with
// several (UpdateBatch).
func TestAnIDRenewedWhilePruneDeletesItAppliesItsOpOnce(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			ctx := context.Background()
			schema := testSchema(t)
			s := openStore(t, postgres.WithSchema(schema))
			pool := newPool(t)
			t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
			addPending := func(id string, now time.Time) func(u *store.UserState, dup bool) {
				return func(u *store.UserState, dup bool) {
					require.False(t, dup, "the ID's window ended: the event is not a duplicate")
					u.Pending = append(u.Pending, &store.Pending{ID: fmt.Sprintf("%s-%d", id, len(u.Pending)), CampaignID: "resend",
						Activation: 1, Trigger: event.Event{ID: "e1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: now},
						DueAt: now.Add(time.Hour), ReadyAt: now.Add(time.Hour)})
				}
			}
			require.NoError(t, s.Update(ctx, "ns", "ann", t0, store.Dedup{EventID: "e1", KeepUntil: t0.Add(time.Hour)}, addPending("first", t0)))

			// Two hours later the ID's window has ended; the row is still
			// there. The op deletes it, as a Prune running meanwhile would,
			// the first time it runs.
			now := t0.Add(2 * time.Hour)
			dedup := store.Dedup{EventID: "e1", KeepUntil: now.Add(time.Hour)}
			calls, err := updateInterrupted(t, s, batch, now, dedup, func() {
				tag, err := pool.Exec(ctx, fmt.Sprintf(`DELETE FROM %s.campaignconnector_seen WHERE ns = 'ns' AND user_id = 'ann' AND event_id = 'e1'`, schema))
				require.NoError(t, err)
				require.EqualValues(t, 1, tag.RowsAffected(), "the expired ID's row was there to delete")
			}, addPending("second", now))
			require.NoError(t, err)
			require.Equal(t, []string{"first-0", "second-1"}, pendingIDs(t, s), "the second op was applied once (op ran %d times)", calls)

			var keep time.Time
			require.NoError(t, pool.QueryRow(ctx, fmt.Sprintf(`SELECT keep_until FROM %s.campaignconnector_seen WHERE ns = 'ns' AND user_id = 'ann' AND event_id = 'e1'`, schema)).Scan(&keep))
			require.True(t, keep.Equal(now.Add(time.Hour)), "the ID is remembered until %s, got %s", now.Add(time.Hour), keep)

			// Within the new window the ID is a duplicate.
			dupSeen := false
			require.NoError(t, s.Update(ctx, "ns", "ann", now.Add(time.Minute), dedup, func(_ *store.UserState, dup bool) { dupSeen = dup }))
			require.True(t, dupSeen)
		})
	}
}
