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

// A transaction updates the user's state row by the ctid it read, trusting
// that the row changes only under the user's advisory lock, which it
// holds. A writer that skips the lock (a host's own DELETE, say) can
// delete the row between the transaction's two round trips: the UPDATE
// then finds nothing, which the client sees only in the results of the
// round trip whose COMMIT has committed the transaction's other writes.
// The call must fail, saying so, rather than run the op again on the
// committed state (which applied it twice). It runs with one op (Update)
// and with several (UpdateBatch).
func TestAUserRowDeletedWithoutTheLockFailsTheCallAfterItsCommit(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			ctx := context.Background()
			schema := testSchema(t)
			s := openStore(t, postgres.WithSchema(schema))
			pool := newPool(t)
			t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
			addPending := func(u *store.UserState, now time.Time) {
				u.Pending = append(u.Pending, &store.Pending{ID: fmt.Sprintf("p%d", len(u.Pending)), CampaignID: "resend",
					Activation: 1, Trigger: event.Event{ID: "e", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: now},
					DueAt: now.Add(time.Hour), ReadyAt: now.Add(time.Hour)})
				// A send keeps a state row for the user.
				u.Sends = append(u.Sends, store.Send{CampaignID: "resend", At: now, Expires: now.Add(24 * time.Hour)})
			}
			require.NoError(t, s.Update(ctx, "ns", "ann", t0, store.Dedup{}, func(u *store.UserState, _ bool) { addPending(u, t0) }))

			now := t0.Add(time.Minute)
			calls, err := updateInterrupted(t, s, batch, now, store.Dedup{}, func() {
				tag, err := pool.Exec(ctx, fmt.Sprintf(`DELETE FROM %s.campaignconnector_users WHERE ns = 'ns' AND user_id = 'ann'`, schema))
				require.NoError(t, err)
				require.EqualValues(t, 1, tag.RowsAffected(), "the user's state row was there to delete")
			}, func(u *store.UserState, _ bool) { addPending(u, now) })
			require.Equal(t, []string{"p0", "p1"}, pendingIDs(t, s), "the op's delivery was scheduled once (op ran %d times)", calls)
			require.Equal(t, 1, calls, "the op ran once")
			require.ErrorContains(t, err, "committed", "the call says that its other writes committed")
		})
	}
}
