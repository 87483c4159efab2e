package connector_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// waitingWrites is a memory store whose writes first call wait, and fail
// with its error: the test stores below make it wait as a database under
// load or cut off would.
type waitingWrites struct {
	*store.Memory
	wait func(ctx context.Context) error
}

func (s waitingWrites) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s waitingWrites) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if err := s.wait(ctx); err != nil {
		for i := range ops {
			ops[i].Err = err
		}
		return err
	}
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

// hungStore is a memory store whose writes, once hung, wait for their
// context to end and then fail with its error: a database that stopped
// answering (a network partition), behind a driver that honours contexts.
type hungStore struct {
	waitingWrites
	hung   atomic.Bool
	answer chan struct{} // closed: the writes held up go through
}

func newHungStore() *hungStore {
	s := &hungStore{answer: make(chan struct{})}
	s.waitingWrites = waitingWrites{Memory: store.NewMemory(), wait: s.holdUp}
	return s
}

// holdUp holds a write up, while the store is hung, until ctx ends or the
// store answers again.
func (s *hungStore) holdUp(ctx context.Context) error {
	if !s.hung.Load() {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.answer:
		return nil
	}
}

// TestRunReturnsWhenTheStoreHangsAtShutdown: the store stops answering
// while a send is in progress and Run's context ends. The record of the
// send and the renewal of its lease, which must outlive Run's context,
// each fail after a lease rather than wait for ever: Run returns at most
// two leases after the send (a renewal round may start just before the
// record gives up). The engine keeps the send's outcome: its next claim of
// the delivery, after the lease, records it rather than send it again.
func TestRunReturnsWhenTheStoreHangsAtShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newHungStore()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var sends atomic.Int32
		send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
			if sends.Add(1) == 1 {
				s.hung.Store(true)
				cancel()
				time.Sleep(time.Second)
			}
			return nil
		})
		const lease = time.Minute
		var logged bytes.Buffer
		e, err := connector.New(s, send, connector.WithSendConcurrency(1), connector.WithBatchSize(1),
			connector.WithLease(lease), connector.WithSendTimeout(30*time.Second),
			connector.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
		require.NoError(t, err)
		dueFor(t, e, "u1")
		start := time.Now()
		ran := make(chan error, 1)
		var took time.Duration
		go func() {
			err := e.Run(ctx)
			took = time.Since(start)
			ran <- err
		}()
		synctest.Wait()
		for range 10 {
			select {
			case err := <-ran:
				require.NoError(t, err)
				require.LessOrEqual(t, took, time.Second+2*lease, "Run returned %v after its context ended", took)
				// The lost record's line says why the call failed.
				require.Contains(t, logged.String(), "the store gave no answer within the lease (1m0s, WithLease): context deadline exceeded")
				// The store answers again; the delivery whose record was
				// lost is recorded after its lease, not sent again.
				s.hung.Store(false)
				time.Sleep(lease)
				_, err = e.Tick(context.Background())
				require.NoError(t, err)
				require.Equal(t, int32(2), sends.Load(), "the other delivery alone")
				u, err := s.User(context.Background(), "", "u1")
				require.NoError(t, err)
				require.Empty(t, u.Pending)
				require.Len(t, u.Receipts, 2, "both deliveries recorded")
				return
			default:
			}
			time.Sleep(lease)
			synctest.Wait()
		}
		close(s.answer) // let the bubble end
		<-ran
		t.Fatalf("Run had not returned %v after its context ended, on a store that stopped answering", time.Since(start))
	})
}

// TestRunReturnsWhenTheStoreHangsAtShutdownWithManySlots: as above, with
// the records of many slots queued behind each other's calls, in calls
// of many ops, and the keeper's renewals among them. A call that got no
// answer is not tried again op by op, and a renewal still waiting once
// the slots have ended holds nothing up: Run returns at most two leases
// after the sends end.
func TestRunReturnsWhenTheStoreHangsAtShutdownWithManySlots(t *testing.T) {
	for _, slots := range []int{4, 8, 16, 64} {
		t.Run(fmt.Sprint(slots), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newHungStore()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var sends atomic.Int32
				send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
					if sends.Add(1) == int32(slots) {
						s.hung.Store(true)
						cancel()
					}
					time.Sleep(time.Second)
					return nil
				})
				const lease = time.Minute
				e, err := connector.New(s, send, connector.WithSendConcurrency(slots), connector.WithLease(lease),
					connector.WithLogger(slog.New(slog.DiscardHandler)))
				require.NoError(t, err)
				users := make([]string, 100)
				for i := range users {
					users[i] = fmt.Sprint("u", i)
				}
				dueFor(t, e, users...)
				start := time.Now()
				ran := make(chan error, 1)
				go func() { ran <- e.Run(ctx) }()
				var err2 error
				select {
				case err2 = <-ran:
				case <-time.After(10 * lease):
					close(s.answer)
					<-ran
					t.Fatalf("Run had not returned %v after its context ended", time.Since(start))
				}
				require.NoError(t, err2)
				took := time.Since(start)
				require.LessOrEqual(t, took, time.Second+2*lease, "Run returned %v after its context ended", took)
				close(s.answer)
			})
		})
	}
}
