package connector_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestStopDuringAFailedSendIsObservedOnce checks that a delivery whose
// campaign is stopped while its send fails is observed cancelled once,
// by the stop, even when the stop and the send's end fall at the same
// instant of the clock: the record of the failed send finds the stop's
// cancellation in the user's log, and must not take it for its own.
func TestStopDuringAFailedSendIsObservedOnce(t *testing.T) {
	clk := clock.NewMock()
	s := store.NewMemory()
	var e *connector.Engine
	rec := &recorder{fail: func(d connector.Delivery) error {
		if d.UserID == "u1" && d.CampaignID == "now" {
			if err := e.Stop(context.Background(), "now"); err != nil {
				return err
			}
			return errors.New("503 try later")
		}
		return nil
	}}
	var mu sync.Mutex
	observed := map[rule.DecisionKind]int{}
	var err error
	e, err = connector.New(s, rec, connector.WithClock(clk), connector.WithSendConcurrency(1),
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Hour, Max: time.Hour}),
		connector.WithDecisionLog(100, 24*time.Hour),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			mu.Lock()
			defer mu.Unlock()
			if d.UserID == "u1" && d.CampaignID == "now" && d.Kind != rule.Scheduled {
				observed[d.Kind]++
			}
		})))
	require.NoError(t, err)
	dueFor(t, e, "u1")
	_, err = e.Tick(context.Background())
	require.NoError(t, err)
	mu.Lock()
	require.Equal(t, map[rule.DecisionKind]int{rule.Cancelled: 1}, observed)
	mu.Unlock()
	u, err := s.User(context.Background(), "", "u1")
	require.NoError(t, err)
	logged := 0
	for _, d := range u.Log {
		if d.CampaignID == "now" && d.Kind == rule.Cancelled {
			logged++
		}
	}
	require.Equal(t, 1, logged, "the log holds the cancellation once: %+v", u.Log)
}
