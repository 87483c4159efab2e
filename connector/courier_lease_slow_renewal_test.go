package connector_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// slowRenewals is a memory store whose lease renewals each take took of
// the clock's time, as a store under load would, and that records when
// each began.
type slowRenewals struct {
	noRenewals // for its renewal test; its Update is not used
	clk        *clock.Mock
	took       time.Duration

	mu    sync.Mutex
	began []time.Time
}

func (s *slowRenewals) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.renewal(ctx, ns, userID, fn) {
		s.mu.Lock()
		s.began = append(s.began, s.clk.Now())
		s.mu.Unlock()
		s.clk.Add(s.took)
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *slowRenewals) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}

// TestSlowRenewalsKeepTheirPace checks that the rounds of lease renewals
// keep their pace when the store is slow: a round starts every quarter of
// the lease from the one before, not a quarter of the lease after the one
// before returned, so that a renewal taking 10 s of a one-minute lease
// still renews each lease with half of it left, not a third.
func TestSlowRenewalsKeepTheirPace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &slowRenewals{noRenewals: noRenewals{Memory: store.NewMemory()}, clk: clk, took: 10 * time.Second}
		release := make(chan struct{})
		send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
			<-release // a send that lasts until the test has seen the renewals
			return nil
		})
		e := newEngine(t, s, send, clk, connector.WithLease(time.Minute), connector.WithSendConcurrency(1))
		waitingUsers(t, e, clk, 1)
		claimed := clk.Now()
		var n int
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			n, err = e.Tick(context.Background())
		}()
		for clk.Now().Before(claimed.Add(100 * time.Second)) {
			synctest.Wait()
			clk.Add(time.Second)
		}
		synctest.Wait()
		close(release)
		<-done
		require.NoError(t, err)
		require.Equal(t, 1, n)
		s.mu.Lock()
		defer s.mu.Unlock()
		require.Equal(t, []time.Time{
			claimed.Add(30 * time.Second), // half of the lease left
			claimed.Add(60 * time.Second), // renewed to 90 s at 30 s, in a round due at 60 s
			claimed.Add(90 * time.Second),
		}, s.began)
	})
}
