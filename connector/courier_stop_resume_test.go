package connector_test

import (
	"context"
	"errors"
	"fmt"
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

// TestStopAndResumeDuringAFailedSendReportsItCancelled checks that a
// delivery whose follow-up is stopped and resumed during its send, which
// then fails, is reported cancelled by the stop once, when the resumed
// follow-up's new delivery to the same user was delivered (or held out
// in the control group) meanwhile: the receipt that new delivery leaves
// is not another engine's send of the stopped one.
func TestStopAndResumeDuringAFailedSendReportsItCancelled(t *testing.T) {
	for _, control := range []bool{false, true} {
		for _, logged := range []bool{false, true} {
			t.Run(fmt.Sprintf("control %v, log %v", control, logged), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ctx := context.Background()
					clk := clock.NewMock()
					s := store.NewMemory()
					send := &gatedSender{}
					o := &outcomes{}
					opts := []connector.Option{connector.WithClock(clk), connector.WithLease(time.Minute),
						connector.WithObserver(connector.ObserverFunc(o.observe)),
						connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 5, Base: time.Hour, Max: time.Hour})}
					if logged {
						opts = append(opts, connector.WithDecisionLog(100, 24*time.Hour))
					}
					a, err := connector.New(s, send, opts...)
					require.NoError(t, err)
					b, err := connector.New(s, send, opts...)
					require.NoError(t, err)
					f := rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}}
					require.NoError(t, a.Save(ctx, rule.Campaign{ID: "o"}))
					require.NoError(t, a.Save(ctx, f))
					require.NoError(t, a.Publish(ctx, "f"))
					require.NoError(t, a.Publish(ctx, "o"))
					require.NoError(t, a.Track(ctx, event.Event{ID: "e1", UserID: "u", Kind: event.PushOpened, CampaignID: "o"}))
					var tick sync.WaitGroup
					tick.Go(func() {
						if _, err := a.Tick(ctx); err != nil {
							t.Error(err)
						}
					})
					synctest.Wait()
					require.Equal(t, 1, send.calls(), "the first delivery is being sent")

					require.NoError(t, a.Stop(ctx, "f"))
					if control {
						f.ControlPercent = 100
						require.NoError(t, a.Save(ctx, f))
					}
					clk.Add(time.Second)
					require.NoError(t, a.Publish(ctx, "f"))
					clk.Add(time.Second)
					require.NoError(t, a.Track(ctx, event.Event{ID: "e2", UserID: "u", Kind: event.PushOpened, CampaignID: "o"}))
					var second sync.WaitGroup
					second.Go(func() {
						if _, err := b.Tick(ctx); err != nil {
							t.Error(err)
						}
					})
					synctest.Wait()
					if !control {
						require.Equal(t, 2, send.calls(), "the resumed follow-up's delivery is being sent")
						send.answer[1] <- nil
					}
					second.Wait()
					clk.Add(time.Second)
					send.answer[0] <- errors.New("provider down")
					tick.Wait()

					o.mu.Lock()
					defer o.mu.Unlock()
					want := map[rule.DecisionKind]int{rule.Cancelled: 1, rule.Delivered: 1}
					if control {
						want = map[rule.DecisionKind]int{rule.Cancelled: 1, rule.HeldOut: 1}
					}
					got := map[rule.DecisionKind]int{}
					for _, kinds := range o.byID {
						require.Len(t, kinds, 1, "one outcome per delivery: %v", o.byID)
						got[kinds[0]]++
					}
					require.Equal(t, want, got, "%v", o.byID)
					if logged {
						st, err := s.User(ctx, "", "u")
						require.NoError(t, err)
						n := 0
						for _, d := range st.Log {
							if d.Kind == rule.Cancelled && d.Reason == rule.ReasonCampaignStopped {
								n++
							}
						}
						require.Equal(t, 1, n, "the stop's cancellation is logged once: %v", st.Log)
					}
				})
			})
		}
	}
}
