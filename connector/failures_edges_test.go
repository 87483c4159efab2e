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

// TestRecentFailuresListsALostReplyOnce checks that a failed send whose
// record a store call stored while reporting an error is listed once,
// when the record's retry finds it stored, with nothing observing the
// engine's decisions.
func TestRecentFailuresListsALostReplyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
		s := &lostFailureReply{Memory: store.NewMemory(), who: "u1"}
		rec := &recorder{fail: func(d connector.Delivery) error {
			if d.UserID == "u1" && d.CampaignID == "now" {
				s.arm()
				return errors.New("503 try later")
			}
			return nil
		}}
		e, err := connector.New(s, rec, connector.WithClock(clk), connector.WithSendConcurrency(1),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Hour, Max: time.Hour}))
		require.NoError(t, err)
		dueFor(t, e, "u0", "u1", "u2")
		_, err = tickSettled(e, clk, 10*time.Millisecond) // the record retry's backoff
		require.NoError(t, err)
		require.True(t, s.lost, "a reply was lost")
		got := e.RecentFailures()
		require.Len(t, got, 1, "%+v", got)
		require.Equal(t, rule.Retried, got[0].Kind)
		require.Equal(t, "u1", got[0].UserID)
	})
}

// blockingSender fails each send once released, after telling it started.
func blockingSender() (connector.SenderFunc, chan struct{}, chan struct{}) {
	started, release := make(chan struct{}), make(chan struct{})
	return func(context.Context, connector.Delivery) error {
		close(started)
		<-release
		return errors.New("503 late")
	}, started, release
}

// TestRecentFailuresListsASendTheTickOutlived checks that a failing send
// still running when its Tick's context ends is recorded and listed once.
func TestRecentFailuresListsASendTheTickOutlived(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		send, started, release := blockingSender()
		e, _, _ := failuresEngine(t, send)
		require.NoError(t, e.Track(context.Background(), opened("ann")))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { _, err := e.Tick(ctx); done <- err }()
		<-started
		cancel()
		synctest.Wait()
		close(release)
		require.ErrorIs(t, <-done, context.Canceled)
		got := e.RecentFailures()
		require.Len(t, got, 1)
		require.Equal(t, rule.Retried, got[0].Kind)
		require.Contains(t, got[0].Detail, "503 late; next attempt at ")
	})
}

// TestRecentFailuresLeaveOutAStopsCancellation checks that a send that
// fails after its follow-up was stopped is not listed: the stop cancelled
// the delivery, and nothing is retried.
func TestRecentFailuresLeaveOutAStopsCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		send, started, release := blockingSender()
		e, _, _ := failuresEngine(t, send)
		require.NoError(t, e.Track(context.Background(), opened("ann")))
		done := make(chan error, 1)
		go func() { _, err := e.Tick(context.Background()); done <- err }()
		<-started
		require.NoError(t, e.Stop(context.Background(), "f"))
		close(release)
		require.NoError(t, <-done)
		require.Empty(t, e.RecentFailures())
	})
}

// TestRecentFailuresUnderRun checks, under -race, that Run's Ticks list
// the failures of a sender that fails or panics while others read the
// list, and that the list keeps fifty.
func TestRecentFailuresUnderRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
			if d.Attempt == 2 {
				panic("boom " + d.UserID)
			}
			return errors.New("no")
		})
		e, clk, _ := failuresEngine(t, send, connector.WithSendConcurrency(3))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for i := range 20 {
			require.NoError(t, e.Track(ctx, opened(fmt.Sprint("u-", i))))
		}
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		var wg sync.WaitGroup
		for range 5 {
			synctest.Wait()
			clk.Add(time.Minute)
			for range 3 { // read while the Tick the clock woke runs
				wg.Go(func() { require.LessOrEqual(t, len(e.RecentFailures()), 50) })
			}
		}
		wg.Wait()
		synctest.Wait()
		cancel()
		<-done
		kinds := map[rule.DecisionKind]int{}
		panicked := 0
		for _, d := range e.RecentFailures() {
			kinds[d.Kind]++
			if d.Attempt == 2 {
				require.Contains(t, d.Detail, "connector: sender panicked: boom "+d.UserID)
				panicked++
			}
		}
		require.Equal(t, map[rule.DecisionKind]int{rule.Failed: 20, rule.Retried: 30}, kinds)
		require.Equal(t, 20, panicked, "every second attempt is among the latest fifty")
	})
}
