package connector_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// gatedUpdates is an outage store whose next update, once armed, signals
// entered and waits for open before it goes to the store.
type gatedUpdates struct {
	*outage
	armed   atomic.Bool
	entered chan struct{}
	open    chan struct{}
}

func (s *gatedUpdates) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.armed.CompareAndSwap(true, false) {
		s.entered <- struct{}{}
		<-s.open
	}
	return s.outage.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *gatedUpdates) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}

// TestAKeptRecordOnItsWayIsNotSentByAnotherTickOfTheEngine: the engine
// keeps the outcome of a send whose record was lost. One Tick tries that
// record first and its store call is slow; another Tick of the same
// engine claims the delivery meanwhile. The engine knows the send went
// through: it must not send the delivery again.
func TestAKeptRecordOnItsWayIsNotSentByAnotherTickOfTheEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &gatedUpdates{outage: &outage{Memory: store.NewMemory()}, entered: make(chan struct{}), open: make(chan struct{})}
		l := &sendLog{}
		o := &outcomes{}
		e := keptEngine(t, s, l, clk, o)
		id := loseRecord(t, e, clk, s.outage, l).ID

		clk.Add(time.Minute) // past the lease
		s.armed.Store(true)
		first := make(chan error, 1)
		go func() {
			_, err := e.Tick(context.Background())
			first <- err
		}()
		<-s.entered // the first Tick's try of the kept record is on its way
		_, err := tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		close(s.open)
		require.NoError(t, <-first)
		require.Len(t, l.sends(), 1, "the engine sent again a delivery whose send it knew went through")
		require.Equal(t, []rule.DecisionKind{rule.Delivered}, o.of(id))
	})
}
