package connector_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// talliesPanic is a memory store whose AddTallies panics while armed: a
// driver with a bug.
type talliesPanic struct {
	*store.Memory
	armed atomic.Bool
}

func (s *talliesPanic) AddTallies(ctx context.Context, ns string, tallies []store.Tally) error {
	if s.armed.Load() {
		panic("the store's driver panicked")
	}
	return s.Memory.AddTallies(ctx, ns, tallies)
}

// TestAStorePanicInABackgroundFlushIsLogged: the engine flushes its
// counts on goroutines of its own (an engine that only tracks, and Run's
// flusher), where nothing of the host's could recover a panic of the
// store's: it is logged as the flush's error, the counts are kept for the
// next flush, rather than the process ended.
func TestAStorePanicInABackgroundFlushIsLogged(t *testing.T) {
	for _, run := range []bool{false, true} {
		name := "tracking only"
		if run {
			name = "run"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &talliesPanic{Memory: store.NewMemory()}
				s.armed.Store(true)
				var log syncBuffer
				e := tallyEngine(t, s, connector.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
				ctx, cancel := context.WithCancel(context.Background())
				ran := make(chan error, 1)
				if run {
					go func() { ran <- e.Run(ctx) }()
				}
				time.Sleep(time.Minute) // past a flush interval
				require.NoError(t, e.Track(context.Background(), received("u1")))
				time.Sleep(time.Minute)
				synctest.Wait()
				require.Contains(t, log.String(), "the store's driver panicked")
				s.armed.Store(false)
				cancel()
				if run {
					require.NoError(t, <-ran)
				}
				require.NoError(t, e.FlushTallies(context.Background()))
				ts, err := s.Tallies(context.Background(), "", store.TallyQuery{})
				require.NoError(t, err)
				require.Equal(t, int64(1), scheduledCount(ts))
			})
		})
	}
}

// TestRunsFlusherRetriesAfterAStorePanic: after the store panics in a
// flush of Run's flusher, the counts go with the flusher's next round, as
// after a store error, with no decision taken meanwhile: before, the
// flusher waited for a new count before it tried again.
func TestRunsFlusherRetriesAfterAStorePanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &talliesPanic{Memory: store.NewMemory()}
		e := tallyEngine(t, s, connector.WithLogger(slog.New(slog.DiscardHandler)))
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- e.Run(ctx) }()
		time.Sleep(time.Minute)
		s.armed.Store(true)
		require.NoError(t, e.Track(context.Background(), received("u1")))
		time.Sleep(time.Minute) // the flush panics
		synctest.Wait()
		s.armed.Store(false)
		time.Sleep(time.Minute) // flush rounds with no new count
		synctest.Wait()
		flushed := scheduledCount(storedTallies(t, s.Memory))
		cancel()
		require.NoError(t, <-ran)
		require.Equal(t, int64(1), flushed, "counts flushed while Run ran")
	})
}
