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

// beforeUpdate is an outage whose update of user who, once armed, after
// skip others, first calls before (outside the store's locks).
type beforeUpdate struct {
	*outage
	who string

	mu     sync.Mutex
	skip   int
	before func()
}

func (s *beforeUpdate) arm(skip int, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skip, s.before = skip, f
}

func (s *beforeUpdate) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	s.mu.Lock()
	var f func()
	if userID == s.who && s.before != nil {
		if s.skip == 0 {
			f, s.before = s.before, nil
		}
		s.skip--
	}
	s.mu.Unlock()
	if f != nil {
		f()
	}
	return s.outage.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *beforeUpdate) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}

// keptFailure sends u1's delivery of "now" on an engine whose store goes
// down during the send, which the provider refuses, and stays down past
// the delivery's lease; the store is then back, and the engine keeps the
// outcome. It returns the engine, its clock, store, sender and observed
// outcomes, and the delivery sent.
func keptFailure(t *testing.T, opts ...connector.Option) (*connector.Engine, *clock.Mock, *beforeUpdate, *sendLog, *outcomes, connector.Delivery) {
	t.Helper()
	clk := clock.NewMock()
	s := &beforeUpdate{outage: &outage{Memory: store.NewMemory()}, who: "u1"}
	l := &sendLog{answer: errors.New("the provider refused")}
	o := &outcomes{}
	opts = append([]connector.Option{connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Hour, Max: time.Hour})}, opts...)
	e := keptEngine(t, s, l, clk, o, opts...)
	return e, clk, s, l, o, loseRecord(t, e, clk, s.outage, l)
}

// TestAStopDuringTheRecordOfAKeptFailureIsObserved: the campaign is
// stopped just before the record of a kept failure is stored.
//
// Tried before the Tick's claims, the record comes after the lease: the
// stop cancels the delivery, and the record finds it gone and tells the
// failure as it does for a send whose lease ran out.
//
// Recorded by the engine's claim (the try before it failed), the record
// comes under the claim's lease: the stop leaves the outcome to it, and it
// reports the delivery cancelled, as it does for a stop during a send that
// failed.
func TestAStopDuringTheRecordOfAKeptFailureIsObserved(t *testing.T) {
	t.Run("tried first", func(t *testing.T) {
		o, d := stopDuringKeptRecord(t, 0)
		require.Equal(t, []rule.DecisionKind{rule.Cancelled, rule.Retried}, o.of(d.ID))
		require.Contains(t, o.all()[1].Detail, "a stop removed it")
	})
	t.Run("found by the claim", func(t *testing.T) {
		o, d := stopDuringKeptRecord(t, 1)
		require.Equal(t, []rule.DecisionKind{rule.Cancelled}, o.of(d.ID), "the stopped delivery's end was never told")
	})
}

// stopDuringKeptRecord stops the campaign of a kept failure before its
// record's update, once blips updates of the user failed.
func stopDuringKeptRecord(t *testing.T, blips int32) (o *outcomes, d connector.Delivery) {
	synctest.Test(t, func(t *testing.T) {
		var e *connector.Engine
		var clk *clock.Mock
		var s *beforeUpdate
		var l *sendLog
		e, clk, s, l, o, d = keptFailure(t)
		require.Empty(t, o.of(d.ID))
		s.blips.Store(blips)
		s.arm(int(blips), func() { require.NoError(t, e.Stop(context.Background(), "now")) })
		clk.Add(time.Minute) // past the lease
		_, err := tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		require.Len(t, l.sends(), 1)
		st, err := e.Stats(context.Background())
		require.NoError(t, err)
		require.Zero(t, st.Pending)
	})
	return o, d
}
