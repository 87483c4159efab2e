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

// pausedConfirm is a steppedClaims that, once armed, pauses the next batch
// update before and after it is applied, and the next claim after it is
// made.
type pausedConfirm struct {
	*steppedClaims
	update, claim                    atomic.Bool
	confirming, apply, applied, done chan struct{}
	claimed, check                   chan struct{}
}

func (s *pausedConfirm) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if !s.update.CompareAndSwap(true, false) {
		return s.steppedClaims.UpdateBatch(ctx, ns, ops)
	}
	close(s.confirming)
	<-s.apply
	err := s.steppedClaims.UpdateBatch(ctx, ns, ops)
	close(s.applied)
	<-s.done
	return err
}

func (s *pausedConfirm) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	claims, err := s.steppedClaims.Claim(ctx, ns, now, lease, limit, token)
	if s.claim.CompareAndSwap(true, false) {
		close(s.claimed)
		<-s.check
	}
	return claims, err
}

// TestAnEnginesOwnClaimOfAConfirmationThatFailsIsSent: a delivery whose
// earlier attempt was never recorded is claimed twice by one engine (its
// clock stepped past the first claim's lease before the confirmation).
// The second claim takes the delivery from the first, whose confirmation
// then finds it another claim's and sends nothing: the second claim, not
// the first, sends it, without waiting for its lease to run out.
func TestAnEnginesOwnClaimOfAConfirmationThatFailsIsSent(t *testing.T) {
	ctx := context.Background()
	s := &pausedConfirm{steppedClaims: &steppedClaims{Memory: store.NewMemory()},
		confirming: make(chan struct{}), apply: make(chan struct{}), applied: make(chan struct{}), done: make(chan struct{}),
		claimed: make(chan struct{}), check: make(chan struct{})}
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	var calls atomic.Int32
	sender := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		calls.Add(1)
		return nil
	})
	e := newEngine(t, s, sender, clk, connector.WithSendConcurrency(1))
	annDue(t, e)
	// An earlier attempt was confirmed and never recorded (its engine died).
	require.NoError(t, s.Memory.Update(ctx, "", "ann", clk.Now(), store.Dedup{}, func(u *store.UserState, _ bool) {
		require.Len(t, u.Pending, 1)
		u.Pending[0].Sending = true
	}))
	s.update.Store(true)
	first := make(chan int, 1)
	go func() {
		n, err := e.Tick(ctx)
		require.NoError(t, err)
		first <- n
	}()
	<-s.confirming // the first claim's confirmation is about to be stored
	s.shift.Store(int64(time.Hour))
	s.claim.Store(true)
	second := make(chan int, 1)
	go func() {
		n, err := e.Tick(ctx)
		require.NoError(t, err)
		second <- n
	}()
	<-s.claimed // the second claim took the delivery
	close(s.apply)
	<-s.applied // the first claim's confirmation found it another claim's
	close(s.check)
	n := <-second
	close(s.done)
	n += <-first
	for range 3 {
		m, err := e.Tick(ctx)
		require.NoError(t, err)
		n += m
	}
	require.Equal(t, 1, n, "the delivery is sent once, now")
	require.Equal(t, int32(1), calls.Load())
}
