package connector_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// laggyStore is a memory store whose writes and claims take between lo
// and hi to answer, the share before of it before the change is applied
// and the rest after: a store slow but working.
type laggyStore struct {
	*store.Memory
	lo, hi time.Duration
	before float64
	mu     sync.Mutex
	rnd    *rand.Rand
}

func (s *laggyStore) around(ctx context.Context, do func() error) error {
	s.mu.Lock()
	d := s.lo + time.Duration(s.rnd.Int64N(int64(s.hi-s.lo)+1))
	s.mu.Unlock()
	first := time.Duration(s.before * float64(d))
	for i, wait := range []time.Duration{first, d - first} {
		if i == 1 {
			if err := do(); err != nil {
				return err
			}
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (s *laggyStore) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	return s.around(ctx, func() error { return s.Memory.Update(ctx, ns, userID, now, dedup, fn) })
}

func (s *laggyStore) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	err := s.around(ctx, func() error { return s.Memory.UpdateBatch(ctx, ns, ops) })
	for i := range ops {
		if err != nil && ops[i].Err == nil {
			ops[i].Err = err
		}
	}
	return err
}

func (s *laggyStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) (claims []store.Claim, err error) {
	err = s.around(ctx, func() error {
		claims, err = s.Memory.Claim(ctx, ns, now, lease, limit, token)
		return err
	})
	return claims, err
}

// TestTwoEnginesOnASlowStore: two engines Run on a store whose every
// write and claim takes up to a fifth of the lease (applied as the call
// starts, midway or as it answers), under steady traffic (a user a
// second), with sends of a second or of three quarters of the lease;
// then both stop. Every delivery is sent, and none twice: the leases,
// renewed by the keepers, outlast the calls. (A store that takes half a
// lease or more to answer breaks WithLease's rule, and can have a
// delivery sent twice: a renewal or record that waits behind another
// call lands after the lease ran out.)
func TestTwoEnginesOnASlowStore(t *testing.T) {
	const lease = time.Minute
	for _, tc := range []struct {
		before float64
		send   time.Duration
	}{{0, 3 * lease / 4}, {0.5, time.Second}, {1, 3 * lease / 4}} {
		t.Run(fmt.Sprint(tc.before, "/", tc.send), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &laggyStore{Memory: store.NewMemory(), rnd: rand.New(rand.NewPCG(1, 2)), before: tc.before}
				var mu sync.Mutex
				sent := map[string]int{}
				send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
					time.Sleep(tc.send)
					mu.Lock()
					sent[d.ID]++
					mu.Unlock()
					return nil
				})
				var engines []*connector.Engine
				for range 2 {
					e, err := connector.New(s, send, connector.WithLease(lease), connector.WithSendConcurrency(4),
						connector.WithBatchSize(8), connector.WithLogger(slog.New(slog.DiscardHandler)))
					require.NoError(t, err)
					engines = append(engines, e)
				}
				dueFor(t, engines[0], "u0") // the campaigns, at once
				s.lo, s.hi = lease/20, lease/5
				ctx, cancel := context.WithCancel(context.Background())
				var runs sync.WaitGroup
				for _, e := range engines {
					runs.Go(func() { _ = e.Run(ctx) })
				}
				const users = 120
				var tracks sync.WaitGroup
				for i := 1; i < users; i++ {
					tracks.Go(func() {
						require.NoError(t, engines[i%2].Track(context.Background(),
							event.Event{UserID: fmt.Sprint("u", i), Kind: event.PushOpened, CampaignID: "o"}))
					})
					time.Sleep(time.Second)
				}
				tracks.Wait()
				for range 300 {
					time.Sleep(lease)
					mu.Lock()
					n := len(sent)
					mu.Unlock()
					if n == 2*users {
						break
					}
				}
				time.Sleep(3 * lease) // a repeat would come a lease after the first send
				cancel()
				runs.Wait()
				mu.Lock()
				defer mu.Unlock()
				require.Len(t, sent, 2*users, "every delivery sent")
				for id, n := range sent {
					require.Equal(t, 1, n, "delivery %s", id)
				}
			})
		})
	}
}
