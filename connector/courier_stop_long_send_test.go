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
// campaign is stopped (by the engine sending it or by another) while it
// is being sent, by a send that lasts past the lease as it stood at the
// stop, has one outcome: the stop leaves it to the send, and the keeper,
// which can no longer renew a lease the stop removed, must not make the
// send's record take the delivery for another engine's. The sender then
// either accepts it (delivered) or fails (cancelled), with or without a
// decision log, and nothing of the delivery stays pending.
func TestStopDuringASendThatOutlastsTheLease(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lease    time.Duration
		byOther  bool // the stop comes from another engine
		log      bool // a decision log
		sendErr  error
		want     rule.DecisionKind
		tickStep time.Duration
	}{
		{"another engine stops, accepted", time.Minute, true, true, nil, rule.Delivered, 10 * time.Second},
		{"another engine stops, failed", time.Minute, true, true, errors.New("503 try later"), rule.Cancelled, 10 * time.Second},
		{"it stops, failed, lease 1m", time.Minute, false, false, errors.New("the provider timed out"), rule.Cancelled, time.Second},
		{"it stops, failed, lease 10s", 10 * time.Second, false, false, errors.New("the provider timed out"), rule.Cancelled, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				clk := clock.NewMock()
				s := store.NewMemory()
				o := &outcomes{}
				var id string
				var stopper *connector.Engine
				rec := &recorder{fail: func(d connector.Delivery) error {
					if d.UserID != "u1" || d.CampaignID != "now" {
						return nil
					}
					id = d.ID
					if err := stopper.Stop(ctx, "now"); err != nil {
						return err
					}
					// Three leases, a slow provider: the keeper finds the
					// delivery gone at each round, and its lease runs out
					// before the send ends.
					<-clk.Timer(3 * tc.lease).C
					return tc.sendErr
				}}
				newEngine := func(send connector.Sender) *connector.Engine {
					opts := []connector.Option{connector.WithClock(clk), connector.WithSendConcurrency(1),
						connector.WithLease(tc.lease),
						connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Hour, Max: time.Hour}),
						connector.WithObserver(connector.ObserverFunc(o.observe))}
					if tc.log {
						opts = append(opts, connector.WithDecisionLog(100, 24*time.Hour))
					}
					e, err := connector.New(s, send, opts...)
					require.NoError(t, err)
					return e
				}
				e := newEngine(rec)
				stopper = e
				if tc.byOther {
					stopper = newEngine(&recorder{})
				}
				dueFor(t, e, "u1")
				_, err := tickSettled(e, clk, tc.tickStep)
				require.NoError(t, err)
				require.NotEmpty(t, id, "the delivery was sent")
				require.Equal(t, []rule.DecisionKind{tc.want}, o.of(id))
				require.Equal(t, int64(1), tallied(t, e, "now", tc.want))
				u, err := s.User(ctx, "", "u1")
				require.NoError(t, err)
				require.Empty(t, u.Pending)
				if tc.byOther {
					_, err = tickSettled(stopper, clk, tc.tickStep)
					require.NoError(t, err)
					require.Equal(t, []rule.DecisionKind{tc.want}, o.of(id), "the other engine adds nothing")
				}
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
