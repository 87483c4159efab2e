package connector_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestStopDuringASendThatOutlastsTheLease checks that a delivery whose
// campaign another engine stops while it is being sent, by a send that
// lasts past the lease as it stood at the stop, has one outcome: the
// stop leaves it to the send, and the keeper, which can no longer renew
// a lease the stop removed, must not make the send's record take the
// delivery for another engine's. The sender then either accepts it
// (delivered) or fails (cancelled).
func TestStopDuringASendThatOutlastsTheLease(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sendErr error
		want    rule.DecisionKind
	}{
		{"accepted", nil, rule.Delivered},
		{"failed", errors.New("503 try later"), rule.Cancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				clk := clock.NewMock()
				s := store.NewMemory()
				o := &outcomes{}
				var id string
				var other *connector.Engine
				rec := &recorder{fail: func(d connector.Delivery) error {
					if d.UserID != "u1" || d.CampaignID != "now" {
						return nil
					}
					id = d.ID
					if err := other.Stop(ctx, "now"); err != nil {
						return err
					}
					// Three leases: the keeper finds the delivery gone at
					// each round, and its lease runs out before the send
					// ends.
					<-clk.Timer(3 * time.Minute).C
					return tc.sendErr
				}}
				newEngine := func(send connector.Sender) *connector.Engine {
					e, err := connector.New(s, send, connector.WithClock(clk), connector.WithSendConcurrency(1),
						connector.WithLease(time.Minute),
						connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Hour, Max: time.Hour}),
						connector.WithDecisionLog(100, 24*time.Hour),
						connector.WithObserver(connector.ObserverFunc(o.observe)))
					require.NoError(t, err)
					return e
				}
				e := newEngine(rec)
				other = newEngine(&recorder{})
				dueFor(t, e, "u1")
				_, err := tickSettled(e, clk, 10*time.Second)
				require.NoError(t, err)
				require.NotEmpty(t, id, "the delivery was sent")
				require.Equal(t, []rule.DecisionKind{tc.want}, o.of(id))
				require.Equal(t, int64(1), tallied(t, e, "now", tc.want))
				_, err = tickSettled(other, clk, 10*time.Second)
				require.NoError(t, err)
				require.Equal(t, []rule.DecisionKind{tc.want}, o.of(id), "the other engine adds nothing")
			})
		})
	}
}

// TestStopDuringASendThatRunsToItsTimeout checks, on the bubble's clock,
// that a delivery whose sender blocks until its context ends, while the
// Tick's context ends and its campaign is stopped, is observed cancelled
// once, by the engine that sent it: the send's context outlives the
// Tick's, to the send timeout, and the stop leaves the outcome to the
// send's record.
func TestStopDuringASendThatRunsToItsTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := store.NewMemory()
		o := &outcomes{}
		tickCtx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var id string
		var sendErr error
		var e *connector.Engine
		send := connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
			if d.UserID != "u1" || d.CampaignID != "now" {
				return nil
			}
			id = d.ID
			cancel()
			if err := e.Stop(context.Background(), "now"); err != nil {
				return err
			}
			<-ctx.Done()
			sendErr = ctx.Err()
			return sendErr
		})
		var err error
		e, err = connector.New(s, send, connector.WithSendConcurrency(1), connector.WithLease(time.Minute),
			connector.WithSendTimeout(50*time.Second), connector.WithDecisionLog(100, 24*time.Hour),
			connector.WithObserver(connector.ObserverFunc(o.observe)))
		require.NoError(t, err)
		dueFor(t, e, "u1")
		start := time.Now()
		_, err = e.Tick(tickCtx)
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, sendErr, context.DeadlineExceeded)
		require.Equal(t, 50*time.Second, time.Since(start), "the send ran to its timeout")
		require.Equal(t, []rule.DecisionKind{rule.Cancelled}, o.of(id))
		require.Equal(t, int64(1), tallied(t, e, "now", rule.Cancelled))
	})
}
