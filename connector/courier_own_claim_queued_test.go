package connector_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// heldClaims is a steppedClaims whose claim, once armed, tells when it
// takes something (claimed) and waits for release before it returns: the
// claim is stored, and its batch not yet handed out to the slots.
type heldClaims struct {
	*steppedClaims
	armed            atomic.Bool
	claimed, release chan struct{}
}

func (s *heldClaims) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	cs, err := s.steppedClaims.Claim(ctx, ns, now, lease, limit, token)
	if len(cs) > 0 && s.armed.CompareAndSwap(true, false) {
		close(s.claimed)
		<-s.release
	}
	return cs, err
}

// TestAnEnginesOwnClaimWaitingInItsFeedSendsNothing: the engine's own
// claim of a send in progress may wait in its Tick's feed (claims come in
// batches) until the send has ended and is recorded. The record is made
// under the claim's token as under its own: a send that failed is retried
// after its backoff, or not at all after a permanent error, and never sent
// again at once by that claim.
func TestAnEnginesOwnClaimWaitingInItsFeedSendsNothing(t *testing.T) {
	errProvider := errors.New("provider: 503")
	for _, sendErr := range []error{errProvider, fmt.Errorf("%w: bad address", connector.ErrPermanent)} {
		t.Run(sendErr.Error(), func(t *testing.T) {
			ctx := context.Background()
			s := &heldClaims{steppedClaims: &steppedClaims{Memory: store.NewMemory()},
				claimed: make(chan struct{}), release: make(chan struct{})}
			clk := clock.NewMock()
			clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			entered, gate := make(chan struct{}), make(chan struct{})
			var calls atomic.Int32
			sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
				if calls.Add(1) == 1 {
					close(entered)
					<-gate
				}
				return sendErr
			})
			e := newEngine(t, s, sender, clk)
			annDue(t, e)

			first := make(chan error, 1)
			go func() {
				_, err := e.Tick(ctx)
				first <- err
			}()
			<-entered
			s.shift.Store(int64(time.Hour)) // the send's lease looks over to claims
			s.armed.Store(true)
			second := make(chan error, 1)
			go func() {
				_, err := e.Tick(ctx)
				second <- err
			}()
			<-s.claimed // the second Tick holds a claim of the delivery
			close(gate) // the send fails and is recorded
			require.NoError(t, <-first)
			close(s.release)
			require.NoError(t, <-second)
			require.Equal(t, int32(1), calls.Load(), "the engine's own claim sent the delivery again")

			u, err := s.User(ctx, "", "ann")
			if errors.Is(sendErr, connector.ErrPermanent) {
				if !errors.Is(err, store.ErrNotFound) {
					require.NoError(t, err)
					require.Empty(t, u.Pending, "the delivery that failed for good is still pending")
				}
				return
			}
			require.NoError(t, err)
			require.Len(t, u.Pending, 1)
			p := u.Pending[0]
			require.False(t, p.Sending, "the failed send is not recorded as one")
			require.Equal(t, 1, p.Attempt)
			require.Equal(t, clk.Now().Add(time.Minute), p.ReadyAt, "the retry waits for its backoff")
		})
	}
}
