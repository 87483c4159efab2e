package connector_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// slowStore is a memory store whose writes, once slow, each take d to
// answer (or fail with their context's error if it ends first): a
// database under load, that answers every call, late.
type slowStore struct {
	waitingWrites
	d atomic.Int64 // time.Duration; 0: fast
}

func newSlowStore() *slowStore {
	s := new(slowStore)
	s.waitingWrites = waitingWrites{Memory: store.NewMemory(), wait: s.lag}
	return s
}

// lag holds a write up for d, or until ctx ends.
func (s *slowStore) lag(ctx context.Context) error {
	d := time.Duration(s.d.Load())
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// TestShutdownGiveBackDoesNotHoldTheRenewals: a replica told to stop while
// its sends hang gives back the claims of its four lanes to a store that
// answers each call late (2 s, a quarter of the 8 s lease). Giving them
// back must not hold up the renewals of the sends in progress: a lease
// that runs out during its send lets the other replica send the delivery
// again.
func TestShutdownGiveBackDoesNotHoldTheRenewals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSlowStore()
		const lease = 8 * time.Second
		var mu sync.Mutex
		sentBy := map[string][]string{}
		hung, answer := make(chan string, 4), make(chan struct{})
		var first atomic.Int32
		sender := func(name string) connector.Sender {
			return connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
				mu.Lock()
				sentBy[d.ID] = append(sentBy[d.ID], name)
				mu.Unlock()
				if name == "stopping" && first.Add(1) <= 4 {
					hung <- d.ID
					<-answer // ignores its context
				}
				return nil
			})
		}
		stopping, err := connector.New(s, sender("stopping"), connector.WithSendConcurrency(4),
			connector.WithBatchSize(8), connector.WithLease(lease))
		require.NoError(t, err)
		other, err := connector.New(s, sender("other"), connector.WithSendConcurrency(4),
			connector.WithLease(lease))
		require.NoError(t, err)
		users := make([]string, 40)
		for i := range users {
			users[i] = fmt.Sprint("u", i)
		}
		dueFor(t, stopping, users...)
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- stopping.Run(ctx) }()
		ids := make([]string, 0, 4)
		for range 4 {
			ids = append(ids, <-hung)
		}
		time.Sleep(1500 * time.Millisecond)
		s.d.Store(int64(2 * time.Second)) // the store slows down
		cancel()                          // SIGTERM
		// Just past the end of the leases the stopping replica took at
		// its sends, which its keeper renews at a quarter of a lease
		// before.
		time.Sleep(lease - 1500*time.Millisecond + 500*time.Millisecond)
		_, err = other.Tick(context.Background())
		require.NoError(t, err)
		close(answer)
		require.NoError(t, <-ran)
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			require.Equal(t, []string{"stopping"}, sentBy[id], "a send in progress lost its lease while the claims went back")
		}
	})
}
