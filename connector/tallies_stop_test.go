package connector_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// honestSlowTallier is a memory store whose AddTallies, once slow is set,
// take 4.9 s (within tallyFlushTimeout, honouring ctx) and then commit.
type honestSlowTallier struct {
	*store.Memory
	slow atomic.Bool
}

func (s *honestSlowTallier) AddTallies(ctx context.Context, ns string, ts []store.Tally) error {
	if s.slow.Load() {
		select {
		case <-time.After(4900 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Memory.AddTallies(ctx, ns, ts)
}

// TestRunsLastFlushWaitsForQueuedReaders checks that with dashboard reads
// queued behind each other on a slow store that honours its context (each
// flush takes 4.9 s), Run's last flush waits for them, so that every count
// tracked before Run returns is stored.
func TestRunsLastFlushWaitsForQueuedReaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &honestSlowTallier{Memory: store.NewMemory()}
		e := tallyEngine(t, s, connector.WithClock(clock.New()))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		synctest.Wait()
		time.Sleep(time.Minute)
		require.NoError(t, e.Track(ctx, received("u0")))
		synctest.Wait() // Run's flusher stores u0 at once
		s.slow.Store(true)
		require.NoError(t, e.Track(ctx, received("u1")))
		var readers sync.WaitGroup
		read := func() { _, _ = e.Tallies(context.Background(), store.TallyQuery{}) }
		readers.Go(read)
		synctest.Wait() // R1 flushes u1, 4.9 s
		require.NoError(t, e.Track(ctx, received("u2")))
		readers.Go(read)
		synctest.Wait() // R2 waits for the slot
		readers.Go(read)
		synctest.Wait() // R3 waits for the slot
		start := time.Now()
		cancel()
		time.Sleep(5 * time.Second)
		require.NoError(t, e.Track(context.Background(), received("u3"))) // after R2 drained, before Run returns
		require.NoError(t, <-done)
		took := time.Since(start)
		got, err := s.Memory.Tallies(context.Background(), "", store.TallyQuery{})
		readers.Wait() // R3 still writes after Run returned
		require.NoError(t, err)
		require.Equal(t, int64(4), scheduledCount(got), "every count tracked before Run returned (after %v) is stored", took)
	})
}

// TestRunReturnsUnderASteadyStreamOfReads checks that Run's last flush
// gets its turn under a steady load of dashboard reads on a slow store
// (one every 4.9 s, each flush taking 4.9 s, three in line, a decision
// every second): reads that come after it wait for it.
func TestRunReturnsUnderASteadyStreamOfReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &honestSlowTallier{Memory: store.NewMemory()}
		s.slow.Store(true)
		e := tallyEngine(t, s, connector.WithClock(clock.New()))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		synctest.Wait()
		quit := make(chan struct{})
		var wg sync.WaitGroup
		read := func() { _, _ = e.Tallies(context.Background(), store.TallyQuery{}) }
		wg.Go(func() { // tracker
			for i := 0; ; i++ {
				_ = e.Track(context.Background(), received(fmt.Sprint("u", i)))
				select {
				case <-quit:
					return
				case <-time.After(time.Second):
				}
			}
		})
		time.Sleep(10 * time.Second)
		for range 3 {
			wg.Go(read)
			synctest.Wait()
		}
		wg.Go(func() { // one new reader every 4.9 s
			for {
				select {
				case <-quit:
					return
				case <-time.After(4900 * time.Millisecond):
					wg.Go(read)
				}
			}
		})
		start := time.Now()
		cancel()
		took := time.Duration(-1)
		select {
		case <-done:
			took = time.Since(start)
		case <-time.After(30 * time.Minute):
		}
		close(quit)
		if took < 0 {
			<-done
			t.Logf("Run returned %v after cancel, only once the readers stopped", time.Since(start))
		}
		wg.Wait()
		require.True(t, took >= 0, "Run had not returned 30 min (fake) after its ctx ended")
	})
}
