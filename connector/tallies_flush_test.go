package connector_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// TestTalliesAreFlushedWhenRunReturns checks that the counts Run's engine
// holds reach the store when Run returns, before its flusher's first turn.
func TestTalliesAreFlushedWhenRunReturns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clk := clock.NewMock()
	s := store.NewMemory()
	e := tallyEngine(t, s, connector.WithClock(clk))
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	require.NoError(t, e.Track(ctx, received("u1")))
	require.NoError(t, e.Track(ctx, received("u2")))
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, int64(2), scheduledCount(storedTallies(t, s)), "flushed as Run returned, the clock still at the first Track")
}

// TestRunFlushesTalliesWithinSecondsWhileItSleeps checks that while Run
// sleeps (nothing is due for an hour) the counts reach the store: at once
// after a quiet spell, then at most every 5 s, in batches; and that there
// is no store call while there is nothing to flush.
func TestRunFlushesTalliesWithinSecondsWhileItSleeps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		s := &countingTallier{Memory: store.NewMemory()}
		e := tallyEngine(t, s, connector.WithClock(clock.New()))
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		synctest.Wait()
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Zero(t, s.adds.Load(), "nothing to flush")

		require.NoError(t, e.Track(ctx, received("u1")))
		synctest.Wait()
		require.Equal(t, int64(1), scheduledCount(storedTallies(t, s)), "the first count after a quiet spell goes at once")
		time.Sleep(time.Second)
		require.NoError(t, e.Track(ctx, received("u2")))
		require.NoError(t, e.Track(ctx, received("u3")))
		synctest.Wait()
		require.Equal(t, int64(1), scheduledCount(storedTallies(t, s)), "a second later, the next counts gather")
		time.Sleep(4 * time.Second)
		synctest.Wait()
		require.Equal(t, int64(3), scheduledCount(storedTallies(t, s)), "flushed 5 s after the last flush")
		require.Equal(t, int64(2), s.adds.Load(), "in one batch")

		time.Sleep(time.Hour - 6*time.Second) // the deliveries fall due: Run ticks, and flushes what they decided
		synctest.Wait()
		time.Sleep(time.Minute)
		synctest.Wait()
		cancel()
		require.NoError(t, <-done)
		got := storedTallies(t, s)
		require.Equal(t, []string{"resend scheduled ×3", "resend delivered ×3"}, []string{
			fmt.Sprintf("%s %s ×%d", got[0].CampaignID, got[0].Kind, got[0].Count),
			fmt.Sprintf("%s %s ×%d", got[1].CampaignID, got[1].Kind, got[1].Count),
		})
		// The first delivery's count goes at once (an hour has passed
		// since the last flush), the others with it or 5 s later.
		require.LessOrEqual(t, s.adds.Load(), int64(4), "the deliveries' counts in at most two batches, nothing left when Run returns")
	})
}

// countingTallier is a memory store that counts its AddTallies calls and
// fails them while fail is set.
type countingTallier struct {
	*store.Memory
	adds atomic.Int64
	fail atomic.Bool
}

var errTallyStore = errors.New("tally table unavailable")

func (s *countingTallier) AddTallies(ctx context.Context, ns string, ts []store.Tally) error {
	if s.fail.Load() {
		return errTallyStore
	}
	s.adds.Add(1)
	return s.Memory.AddTallies(ctx, ns, ts)
}

// TestTickFlushesTalliesEveryFewSeconds checks that a host that calls Tick
// itself gets its counts flushed, at most once per 5 s.
func TestTickFlushesTalliesEveryFewSeconds(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	s := &countingTallier{Memory: store.NewMemory()}
	e := tallyEngine(t, s, connector.WithClock(clk))
	require.NoError(t, e.Track(ctx, received("u1")))
	_, err := e.Tick(ctx)
	require.NoError(t, err)
	require.Empty(t, storedTallies(t, s), "the engine was made less than 5 s ago")
	clk.Add(5 * time.Second)
	_, err = e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), scheduledCount(storedTallies(t, s)))
	require.NoError(t, e.Track(ctx, received("u2")))
	clk.Add(4 * time.Second)
	_, err = e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), scheduledCount(storedTallies(t, s)), "4 s after the last flush")
	clk.Add(time.Second)
	_, err = e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), scheduledCount(storedTallies(t, s)))
}

// TestATickWithNothingToFlushKeepsTheNextCountsPrompt checks that a Tick
// with no counts waiting does not count as a flush: counts taken a second
// later go with the next Tick, not 5 s after the empty one.
func TestATickWithNothingToFlushKeepsTheNextCountsPrompt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		clk := clock.NewMock()
		s := &countingTallier{Memory: store.NewMemory()}
		e := tallyEngine(t, s, connector.WithClock(clk))
		clk.Add(time.Minute)
		_, err := e.Tick(ctx)
		require.NoError(t, err)
		require.Zero(t, s.adds.Load(), "nothing to flush")
		clk.Add(time.Second)
		// The Track's count goes out in the background (the engine has
		// no Run) or with the Tick, whichever comes first.
		require.NoError(t, e.Track(ctx, received("u1")))
		_, err = e.Tick(ctx)
		require.NoError(t, err)
		synctest.Wait()
		require.Equal(t, int64(1), scheduledCount(storedTallies(t, s)), "the empty Tick a second ago was no flush")
	})
}

// TestAnEngineThatOnlyTracksFlushesItsTallies checks that an engine whose
// host never calls Run or Tick (a replica receiving webhooks while others
// send) still gets its counts to the store: the first decision 5 s or
// more after the last flush flushes them in the background.
func TestAnEngineThatOnlyTracksFlushesItsTallies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		clk := clock.NewMock()
		s := store.NewMemory()
		e := tallyEngine(t, s, connector.WithClock(clk))
		require.NoError(t, e.Track(ctx, received("u1")))
		synctest.Wait()
		require.Empty(t, storedTallies(t, s), "the engine was made less than 5 s ago")
		clk.Add(5 * time.Second)
		require.NoError(t, e.Track(ctx, received("u2")))
		synctest.Wait()
		require.Equal(t, int64(2), scheduledCount(storedTallies(t, s)))
		clk.Add(time.Second)
		require.NoError(t, e.Track(ctx, received("u3")))
		synctest.Wait()
		require.Equal(t, int64(2), scheduledCount(storedTallies(t, s)), "1 s after the last flush")
	})
}

// TestAFailedFlushKeepsItsCounts checks that counts a flush could not
// store are neither lost nor added twice.
func TestAFailedFlushKeepsItsCounts(t *testing.T) {
	ctx := context.Background()
	s := &countingTallier{Memory: store.NewMemory()}
	e := tallyEngine(t, s)
	for _, u := range []string{"u1", "u2", "u3"} {
		require.NoError(t, e.Track(ctx, received(u)))
	}
	s.fail.Store(true)
	_, err := e.Tallies(ctx, store.TallyQuery{})
	require.ErrorIs(t, err, errTallyStore)
	require.NoError(t, e.Track(ctx, received("u4")))
	s.fail.Store(false)
	got, err := e.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	require.Equal(t, int64(4), scheduledCount(got))
	got, err = e.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	require.Equal(t, int64(4), scheduledCount(got), "flushed once")
}

// TestTallyRetentionPrunesHoursPastIt checks that the engine's prune
// removes the hours that ended longer than the retention ago, and keeps
// the hour that started before it but ended within it.
// blockingTallier is a memory store whose AddTallies waits for release.
type blockingTallier struct {
	*store.Memory
	entered chan struct{}
	release chan struct{}
}

func (s *blockingTallier) AddTallies(ctx context.Context, ns string, ts []store.Tally) error {
	s.entered <- struct{}{}
	<-s.release
	return s.Memory.AddTallies(ctx, ns, ts)
}

// TestTalliesStopsWaitingForAFlushWhenCtxEnds checks that a reader of the
// tallies waiting behind a flush stuck on a slow store gives up when its
// context ends, and that the stuck flush's counts still arrive.
func TestTalliesStopsWaitingForAFlushWhenCtxEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &blockingTallier{Memory: store.NewMemory(), entered: make(chan struct{}), release: make(chan struct{})}
		e := tallyEngine(t, s, connector.WithClock(clock.NewMock()))
		require.NoError(t, e.Track(context.Background(), received("u1")))
		first := make(chan error, 1)
		go func() {
			_, err := e.Tallies(context.Background(), store.TallyQuery{})
			first <- err
		}()
		<-s.entered // the first reader's flush is in the store

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := e.Tallies(ctx, store.TallyQuery{})
		require.ErrorIs(t, err, context.DeadlineExceeded)

		close(s.release)
		require.NoError(t, <-first)
		got, err := s.Memory.Tallies(context.Background(), "", store.TallyQuery{})
		require.NoError(t, err)
		require.Equal(t, int64(1), scheduledCount(got))
	})
}

// slowSecondTallier is a memory store whose second AddTallies takes 6 s
// (a slow database that ignores ctx) and then commits.
type slowSecondTallier struct {
	*store.Memory
	calls atomic.Int64
}

func (s *slowSecondTallier) AddTallies(ctx context.Context, ns string, ts []store.Tally) error {
	if s.calls.Add(1) == 2 {
		time.Sleep(6 * time.Second)
		return s.Memory.AddTallies(context.Background(), ns, ts)
	}
	return s.Memory.AddTallies(ctx, ns, ts)
}

// TestRunsLastFlushWaitsForAReadersFlush checks that when Run stops while a
// dashboard's read is flushing to a slow store, Run's last flush waits for
// it and then stores what was counted since: every count tracked before
// Run returned reaches the store.
func TestRunsLastFlushWaitsForAReadersFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		s := &slowSecondTallier{Memory: store.NewMemory()}
		e := tallyEngine(t, s, connector.WithClock(clock.New()))
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		synctest.Wait()
		time.Sleep(time.Minute) // a quiet spell: the next count goes at once
		synctest.Wait()
		require.NoError(t, e.Track(ctx, received("u1")))
		synctest.Wait() // Run's flusher stores u1's count
		require.Equal(t, int64(1), s.calls.Load())
		require.NoError(t, e.Track(ctx, received("u2")))
		read := make(chan error, 1)
		go func() { _, err := e.Tallies(context.Background(), store.TallyQuery{}); read <- err }()
		synctest.Wait() // the reader's flush takes u2's count and waits on the store
		require.NoError(t, e.Track(ctx, received("u3")))
		cancel()
		require.NoError(t, <-done)
		require.NoError(t, <-read)
		got, err := s.Memory.Tallies(context.Background(), "", store.TallyQuery{})
		require.NoError(t, err)
		require.Equal(t, int64(3), scheduledCount(got), "every count tracked before Run returned is stored")
	})
}

// TestFlushTalliesHandsOverEveryCount checks that an engine that only
// tracks gets every count to the store at its shutdown: without the call,
// the counts of decisions less than 5 s after its last flush wait in
// memory for a next decision that never comes.
func TestFlushTalliesHandsOverEveryCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		clk := clock.NewMock()
		s := store.NewMemory()
		e := tallyEngine(t, s, connector.WithClock(clk))
		clk.Add(5 * time.Second)
		require.NoError(t, e.Track(ctx, received("u1"))) // flushes in the background
		synctest.Wait()
		require.NoError(t, e.Track(ctx, received("u2")))
		require.NoError(t, e.Track(ctx, received("u3")))
		synctest.Wait()
		require.Equal(t, int64(1), scheduledCount(storedTallies(t, s)), "u2 and u3 wait in the engine")
		require.NoError(t, e.FlushTallies(ctx))
		require.Equal(t, int64(3), scheduledCount(storedTallies(t, s)))
		require.NoError(t, e.FlushTallies(ctx))
		require.Equal(t, int64(3), scheduledCount(storedTallies(t, s)), "flushed once")
	})
}

// TestFlushTalliesSaysWhatItKeeps checks that a flush the store fails
// names the counts the engine still holds, and that they go with the next.
func TestFlushTalliesSaysWhatItKeeps(t *testing.T) {
	ctx := context.Background()
	s := &countingTallier{Memory: store.NewMemory()}
	e := tallyEngine(t, s, mockClock())
	for _, u := range []string{"u1", "u2"} {
		require.NoError(t, e.Track(ctx, received(u)))
	}
	s.fail.Store(true)
	err := e.FlushTallies(ctx)
	require.ErrorIs(t, err, errTallyStore)
	require.Contains(t, err.Error(), "counts still held")
	s.fail.Store(false)
	require.NoError(t, e.FlushTallies(ctx))
	require.Equal(t, int64(2), scheduledCount(storedTallies(t, s.Memory)))

	done, cancel := context.WithCancel(ctx)
	cancel()
	require.NoError(t, e.Track(ctx, received("u3")))
	require.ErrorIs(t, e.FlushTallies(done), context.Canceled)
	require.NoError(t, e.FlushTallies(ctx))
	require.Equal(t, int64(3), scheduledCount(storedTallies(t, s.Memory)))
}
