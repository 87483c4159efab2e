package connector_test

import (
	"context"
	"errors"
	"strings"
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

// TestFailedSendAfterAStopOnALapsedLeaseBlamesNoEngine checks the record
// of a send that fails after its lease ran out (the store failed the
// renewals) and a stop removed the delivery meanwhile, with no other
// engine about: the stop reports the delivery cancelled, and the failed
// send's retried decision does not say that another engine took it.
func TestFailedSendAfterAStopOnALapsedLeaseBlamesNoEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		clk := clock.NewMock()
		s := &noRenewals{Memory: store.NewMemory()}
		send := &gatedSender{}
		o := &outcomes{}
		e, err := connector.New(s, send, connector.WithClock(clk), connector.WithLease(time.Minute),
			connector.WithObserver(connector.ObserverFunc(o.observe)),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 5, Base: time.Minute, Max: time.Hour}))
		require.NoError(t, err)
		waitingUsers(t, e, clk, 1)
		var tick sync.WaitGroup
		tick.Go(func() {
			if _, err := e.Tick(ctx); err != nil {
				t.Error(err)
			}
		})
		synctest.Wait()
		require.Equal(t, 1, send.calls())
		clk.Add(2 * time.Minute) // the lease ends: the store failed its renewal
		synctest.Wait()
		require.Positive(t, s.failed.Load(), "renewals failed")
		require.NoError(t, e.Stop(ctx, "f"))
		send.answer[0] <- errors.New("provider down")
		tick.Wait()

		seen := o.all()
		require.Equal(t, map[rule.DecisionKind]int{rule.Cancelled: 1, rule.Retried: 1}, kindsOf(seen), "%v", seen)
		for _, d := range seen {
			if d.Kind == rule.Retried {
				require.NotContains(t, d.Detail, "another engine took the delivery")
				require.True(t, strings.HasPrefix(d.Detail, "provider down; "), d.Detail)
			}
		}
	})
}
