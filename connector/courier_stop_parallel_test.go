package connector_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestStopDuringParallelSendsReportsTheFailedOneCancelled checks that
// when a follow-up allowing parallel deliveries is stopped while two of
// its deliveries to one user are being sent by one engine, and the
// first send goes through before the second fails, the failed one is
// reported cancelled by the stop: the receipt the first send left is
// that of another delivery, not of another engine's send of this one.
func TestStopDuringParallelSendsReportsTheFailedOneCancelled(t *testing.T) {
	for _, logged := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewMock()
			s := store.NewMemory()
			send := &gatedSender{}
			o := &outcomes{}
			opts := []connector.Option{connector.WithClock(clk), connector.WithSendConcurrency(2),
				connector.WithLease(time.Minute), connector.WithObserver(connector.ObserverFunc(o.observe)),
				connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 5, Base: time.Hour, Max: time.Hour})}
			if logged {
				opts = append(opts, connector.WithDecisionLog(100, 24*time.Hour))
			}
			e, err := connector.New(s, send, opts...)
			require.NoError(t, err)
			require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
			require.NoError(t, e.Save(ctx, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}},
				PendingPolicy: rule.AllowParallel}))
			require.NoError(t, e.Publish(ctx, "f"))
			require.NoError(t, e.Publish(ctx, "o"))
			for _, id := range []string{"e1", "e2"} {
				require.NoError(t, e.Track(ctx, event.Event{ID: id, UserID: "u", Kind: event.PushOpened, CampaignID: "o"}))
				clk.Add(time.Millisecond)
			}
			var tick sync.WaitGroup
			tick.Go(func() {
				if _, err := e.Tick(ctx); err != nil {
					t.Error(err)
				}
			})
			synctest.Wait()
			require.Equal(t, 2, send.calls(), "both deliveries are being sent")
			require.NoError(t, e.Stop(ctx, "f"))
			send.answer[0] <- nil
			synctest.Wait() // its record is stored
			send.answer[1] <- errors.New("provider down")
			tick.Wait()

			st, err := s.User(ctx, "", "u")
			require.NoError(t, err)
			require.Empty(t, st.Pending)
			o.mu.Lock()
			defer o.mu.Unlock()
			got := map[rule.DecisionKind]int{}
			for _, kinds := range o.byID {
				require.Len(t, kinds, 1, "one outcome per delivery (log %v): %v", logged, o.byID)
				got[kinds[0]]++
			}
			require.Equal(t, map[rule.DecisionKind]int{rule.Delivered: 1, rule.Cancelled: 1}, got, "log %v: %v", logged, o.byID)
		})
	}
}
