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

// TestStopDuringASendThatFailsAfterItsLeaseIsObservedOnce checks that a
// delivery whose campaign is stopped during its send, and whose send then
// fails after the lease it held at the stop would have ended, is observed
// cancelled once: the stop left its outcome to the send (the lease was
// live), and the send, which no other engine can have taken from it since
// (the delivery is gone), reports it rather than nothing.
func TestStopDuringASendThatFailsAfterItsLeaseIsObservedOnce(t *testing.T) {
	for _, lease := range []time.Duration{time.Minute, 10 * time.Second} {
		t.Run(lease.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := clock.NewMock()
				s := store.NewMemory()
				var e *connector.Engine
				var id string
				send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
					if d.CampaignID != "now" {
						return nil
					}
					id = d.ID
					if err := e.Stop(context.Background(), "now"); err != nil {
						return err
					}
					<-clk.After(3 * lease) // a slow provider, longer than the lease
					return errors.New("the provider timed out")
				})
				o := &outcomes{}
				var err error
				e, err = connector.New(s, send, connector.WithClock(clk), connector.WithSendConcurrency(1),
					connector.WithLease(lease),
					connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Hour, Max: time.Hour}),
					connector.WithObserver(connector.ObserverFunc(o.observe)))
				require.NoError(t, err)
				dueFor(t, e, "u1")
				_, err = tickSettled(e, clk, time.Second)
				require.NoError(t, err)
				require.NotEmpty(t, id)
				require.Equal(t, []rule.DecisionKind{rule.Cancelled}, o.of(id))
				require.Equal(t, int64(1), tallied(t, e, "now", rule.Cancelled))
				u, err := s.User(context.Background(), "", "u1")
				require.NoError(t, err)
				require.Empty(t, u.Pending)
			})
		})
	}
}
