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
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// failsNextCall is a memory store that, once armed, fails the next call
// holding an op for user who without applying it, as a store out of
// reach for a moment does.
type failsNextCall struct {
	*store.Memory
	who string

	mu    sync.Mutex
	armed bool
}

var errOutOfReach = errors.New("the store is out of reach")

func (s *failsNextCall) arm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = true
}

func (s *failsNextCall) fails(userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.armed && userID == s.who {
		s.armed = false
		return true
	}
	return false
}

func (s *failsNextCall) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.fails(userID) {
		return errOutOfReach
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *failsNextCall) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}

// TestStopDuringAFailedSendWhoseRecordIsRetriedIsObservedOnce checks that
// a delivery whose campaign is stopped during a send that fails, and
// whose record's first call fails without being stored, is observed
// cancelled once: the stop left the outcome to the send, and the retry of
// the record, finding the delivery gone and no decision of the failed
// call in the user's log, reports it.
func TestStopDuringAFailedSendWhoseRecordIsRetriedIsObservedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &failsNextCall{Memory: store.NewMemory(), who: "u1"}
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
			s.arm() // the record's first call
			return errors.New("the provider refused")
		})
		o := &outcomes{}
		var err error
		e, err = connector.New(s, send, connector.WithClock(clk), connector.WithSendConcurrency(1),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Hour, Max: time.Hour}),
			connector.WithDecisionLog(100, 24*time.Hour),
			connector.WithObserver(connector.ObserverFunc(o.observe)))
		require.NoError(t, err)
		dueFor(t, e, "u1")
		_, err = tickSettled(e, clk, time.Millisecond)
		require.NoError(t, err)
		require.NotEmpty(t, id)
		require.Equal(t, []rule.DecisionKind{rule.Cancelled}, o.of(id))
		require.Equal(t, int64(1), tallied(t, e, "now", rule.Cancelled))
		u, err := s.User(context.Background(), "", "u1")
		require.NoError(t, err)
		require.Empty(t, u.Pending)
		var logged []rule.DecisionKind
		for _, d := range u.Log {
			if d.DeliveryID == id && d.Kind != rule.Scheduled {
				logged = append(logged, d.Kind)
			}
		}
		require.Equal(t, []rule.DecisionKind{rule.Cancelled}, logged)
	})
}
