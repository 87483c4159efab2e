package connector_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// heldUpdates is a steppedClaims whose next batch update, once armed, is
// applied and then waits for release before it answers.
type heldUpdates struct {
	*steppedClaims
	armed            atomic.Bool
	applied, release chan struct{}
}

func (s *heldUpdates) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	err := s.steppedClaims.UpdateBatch(ctx, ns, ops)
	if s.armed.CompareAndSwap(true, false) {
		close(s.applied)
		<-s.release
	}
	return err
}

// TestAnEnginesOwnClaimRightAfterAConfirmationSendsNothing: the engine's
// own claim of a delivery whose confirmation is stored, and whose send is
// about to start, is a claim of that send (the process starved past the
// lease, or the clock stepped, as the confirmation answered): it sends
// nothing.
func TestAnEnginesOwnClaimRightAfterAConfirmationSendsNothing(t *testing.T) {
	ctx := context.Background()
	s := &heldUpdates{steppedClaims: &steppedClaims{Memory: store.NewMemory()},
		applied: make(chan struct{}), release: make(chan struct{})}
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	var calls atomic.Int32
	sender := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		calls.Add(1)
		return nil
	})
	e := newEngine(t, s, sender, clk, connector.WithSendConcurrency(1))
	dueFor(t, e, "ann")
	s.armed.Store(true)
	first := make(chan int, 1)
	go func() {
		n, err := e.Tick(ctx)
		require.NoError(t, err)
		first <- n
	}()
	<-s.applied // the first delivery's confirmation is stored
	s.shift.Store(int64(time.Hour))
	n, err := e.Tick(ctx)
	require.NoError(t, err)
	close(s.release)
	n += <-first
	require.Equal(t, 2, n, "the two deliveries are sent")
	require.Equal(t, int32(2), calls.Load(), "a delivery was sent twice")
}
