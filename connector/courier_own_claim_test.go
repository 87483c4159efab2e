package connector_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// steppedClaims is a memory store whose claims see the clock shift ahead:
// as after a forward step of the host's clock, or a process starved past
// its lease, the lease of a send in progress looks over to them.
type steppedClaims struct {
	*store.Memory
	shift atomic.Int64 // nanoseconds added to a claim's now
}

func (s *steppedClaims) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	return s.Memory.Claim(ctx, ns, now.Add(time.Duration(s.shift.Load())), lease, limit, token)
}

// TestAnEnginesOwnClaimOfASendInProgressSendsNothing: an engine whose
// lease on a delivery runs out while it sends it (its clock stepped, or
// it was starved past the lease) claims the delivery again in another
// Tick (Run starts Ticks beside slow sends). That claim is its own: it
// sends nothing, and the send in progress records its outcome under the
// new claim's token, delivered or retried as usual.
func TestAnEnginesOwnClaimOfASendInProgressSendsNothing(t *testing.T) {
	for _, fails := range []bool{false, true} {
		name := map[bool]string{false: "delivered", true: "failed and retried"}[fails]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := &steppedClaims{Memory: store.NewMemory()}
			clk := clock.NewMock()
			clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			entered, gate := make(chan struct{}), make(chan struct{})
			var calls atomic.Int32
			errProvider := errors.New("provider: 503")
			sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
				if calls.Add(1) == 1 {
					close(entered)
					<-gate
					if fails {
						return errProvider
					}
				}
				return nil
			})
			e := newEngine(t, s, sender, clk)
			annDue(t, e)

			first := make(chan int, 1)
			go func() {
				n, err := e.Tick(ctx)
				require.NoError(t, err)
				first <- n
			}()
			<-entered
			s.shift.Store(int64(time.Hour)) // the send's lease looks over to claims
			n, err := e.Tick(ctx)
			require.NoError(t, err)
			require.Zero(t, n, "the second Tick sent the delivery the first is sending")
			require.Equal(t, int32(1), calls.Load(), "the sender was called twice for one delivery")
			close(gate)
			want := 1
			if fails {
				want = 0
			}
			require.Equal(t, want, <-first)

			u, err := s.User(ctx, "", "ann")
			require.NoError(t, err)
			if !fails {
				require.Empty(t, u.Pending, "the delivered delivery is still pending")
			} else {
				require.Len(t, u.Pending, 1)
				p := u.Pending[0]
				require.False(t, p.Sending, "the failed send is not recorded as one")
				require.Equal(t, 1, p.Attempt)
				require.Equal(t, clk.Now().Add(time.Minute), p.ReadyAt, "the retry waits for its backoff")
			}
			s.shift.Store(0)
			n, err = e.Tick(ctx)
			require.NoError(t, err)
			require.Zero(t, n, "nothing is due")
			require.Equal(t, int32(1), calls.Load())
		})
	}
}

// annDue publishes the original "o" and the immediate follow-up "now",
// and tracks ann's push_opened of "o": one delivery of "now" is due.
func annDue(t *testing.T, e *connector.Engine) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []rule.Campaign{
		{ID: "o"},
		{ID: "now", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}},
	} {
		require.NoError(t, e.Save(ctx, c))
		require.NoError(t, e.Publish(ctx, c.ID))
	}
	require.NoError(t, e.Track(ctx, event.Event{ID: "ev-1", UserID: "ann", Kind: event.PushOpened, CampaignID: "o"}))
}
