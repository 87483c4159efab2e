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
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// slowCancel is a memory store whose CancelCampaign, once it has removed
// the deliveries, answers only when the test closes answer: a stop of a
// follow-up with many deliveries takes long.
type slowCancel struct {
	*store.Memory
	answer chan struct{}
}

func (s *slowCancel) CancelCampaign(ctx context.Context, ns, campaignID string) ([]store.Claim, error) {
	removed, err := s.Memory.CancelCampaign(ctx, ns, campaignID)
	<-s.answer
	return removed, err
}

func (s *slowCancel) CancelCampaignBatch(ctx context.Context, ns, campaignID, cursor string, limit int) ([]store.Claim, string, error) {
	removed, next, err := s.Memory.CancelCampaignBatch(ctx, ns, campaignID, cursor, limit)
	<-s.answer
	return removed, next, err
}

// TestSlowStopDuringASendReportsOneOutcome checks that a delivery a stop
// removes during its send has one outcome when the stop's cancellation
// answers after the delivery's lease would have ended: the send's record
// reports it (delivered, or cancelled if the send failed), as it found
// the delivery gone under its lease, and the stop, whose call removed it
// under that live lease, does not report it cancelled too.
func TestSlowStopDuringASendReportsOneOutcome(t *testing.T) {
	for _, failed := range []bool{false, true} {
		t.Run(fmt.Sprintf("send failed %v", failed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				clk := clock.NewMock()
				s := &slowCancel{Memory: store.NewMemory(), answer: make(chan struct{})}
				send := &gatedSender{}
				o := &outcomes{}
				e, err := connector.New(s, send, connector.WithClock(clk), connector.WithLease(time.Minute),
					connector.WithObserver(connector.ObserverFunc(o.observe)),
					connector.WithDecisionLog(100, 24*time.Hour),
					connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 5, Base: time.Hour, Max: time.Hour}))
				require.NoError(t, err)
				waitingUsers(t, e, clk, 1)
				var tick, stop sync.WaitGroup
				tick.Go(func() {
					if _, err := e.Tick(ctx); err != nil {
						t.Error(err)
					}
				})
				synctest.Wait()
				require.Equal(t, 1, send.calls())
				stop.Go(func() {
					if err := e.Stop(ctx, "f"); err != nil {
						t.Error(err)
					}
				})
				synctest.Wait() // the delivery is removed; the stop waits for its answer
				var answer error
				if failed {
					answer = errors.New("provider down")
				}
				send.answer[0] <- answer
				tick.Wait()
				clk.Add(2 * time.Minute) // the cancellation takes longer than the lease
				close(s.answer)
				stop.Wait()

				want := rule.Delivered
				if failed {
					want = rule.Cancelled
				}
				o.mu.Lock()
				defer o.mu.Unlock()
				require.Len(t, o.byID, 1, "%v", o.byID)
				for _, kinds := range o.byID {
					require.Equal(t, []rule.DecisionKind{want}, kinds)
				}
			})
		})
	}
}
