package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// BenchmarkCancelCampaignBatchTwoWalkers measures two stops of the same
// follow-up at once (two replicas' Apply with StopOthers, or two
// operators): two stores on the same database each walk a backlog of
// 100,000 pending deliveries (one user each) with CancelCampaignBatch
// in batches of 1,000, as the engine does, while a third store updates
// backlog users one after another, as Track does. It reports the walks'
// time (until both end) and the updates' median, 99th percentile and
// worst latency. Run it with -benchtime=1x: each iteration seeds the
// backlog again, which takes longer than the walks.
func BenchmarkCancelCampaignBatchTwoWalkers(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("walkers=%d", n), func(b *testing.B) { benchmarkWalkers(b, n) })
	}
}

func benchmarkWalkers(b *testing.B, n int) {
	const (
		users = 100_000
		limit = 1000
	)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		schema := testSchema(b)
		var walkers []*postgres.Store
		for range n {
			walkers = append(walkers, openStore(b, postgres.WithSchema(schema)))
		}
		tracker := openStore(b, postgres.WithSchema(schema))
		ops := make([]store.Op, 0, limit)
		for u := range users {
			user := fmt.Sprintf("u%06d", u)
			// Due times in an order unrelated to the users' IDs.
			due := t0.Add(time.Duration((u*7919)%users) * time.Second)
			ops = append(ops, store.Op{UserID: user, Now: t0, Fn: func(s *store.UserState, _ bool) {
				s.Pending = append(s.Pending, newPending(user, "f", "d-"+user, due))
			}})
			if len(ops) == cap(ops) || u == users-1 {
				require.NoError(b, tracker.UpdateBatch(ctx, "ns", ops))
				ops = ops[:0]
			}
		}
		b.StartTimer()

		start := time.Now()
		var (
			wg      sync.WaitGroup
			removed = make([]int, n)
			errs    = make([]error, n)
			done    = make(chan struct{})
		)
		for w, s := range walkers {
			wg.Go(func() {
				for cursor := ""; ; {
					out, next, err := s.CancelCampaignBatch(ctx, "ns", "f", cursor, limit)
					if err != nil {
						errs[w] = err
						return
					}
					removed[w] += len(out)
					if next == "" {
						return
					}
					cursor = next
				}
			})
		}
		var waits []time.Duration
		var trackErr error
		tracked := make(chan struct{})
		go func() {
			defer close(tracked)
			rnd := rand.New(rand.NewPCG(uint64(i), 1))
			for {
				select {
				case <-done:
					return
				default:
				}
				user := fmt.Sprintf("u%06d", rnd.IntN(users))
				t := time.Now()
				err := tracker.Update(ctx, "ns", user, t0, store.Dedup{}, func(u *store.UserState, _ bool) {
					u.Sends = append(u.Sends, store.Send{CampaignID: "c", At: t0, Expires: t0.Add(time.Hour)})
				})
				waits = append(waits, time.Since(t))
				if err != nil {
					trackErr = err
					return
				}
			}
		}()
		wg.Wait()
		walk := time.Since(start)
		close(done)
		<-tracked
		b.StopTimer()
		for _, err := range errs {
			require.NoError(b, err)
		}
		require.NoError(b, trackErr)
		var total int
		for _, r := range removed {
			total += r
		}
		require.Equal(b, users, total, "removed %v", removed)
		slices.Sort(waits)
		b.ReportMetric(walk.Seconds(), "walk-s")
		b.ReportMetric(float64(len(waits)), "tracks")
		b.ReportMetric(float64(waits[len(waits)/2].Microseconds())/1000, "track-p50-ms")
		b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds())/1000, "track-p99-ms")
		b.ReportMetric(float64(waits[len(waits)-1].Microseconds())/1000, "track-max-ms")
		b.Logf("walk %v, removed %v, tracks %d, median %v, p99 %v, worst %v", walk.Round(time.Millisecond), removed, len(waits),
			waits[len(waits)/2], waits[len(waits)*99/100], waits[len(waits)-1])
		b.StartTimer()
	}
}
