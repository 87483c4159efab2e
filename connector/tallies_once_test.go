package connector_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// lossyTallier is a memory store whose tally calls can fail in two ways:
// while down is set, before adding anything (the store is unreachable);
// while lose is set, after adding (the reply is lost on its way back).
// With once set it adds a batch at most once, as store.OnceTallier
// requires, and records every call to AddTalliesOnce.
type lossyTallier struct {
	*store.Memory
	once bool

	mu         sync.Mutex
	down, lose bool
	last       map[string]int64 // writer → its latest batch added
	calls      []onceCall
}

type onceCall struct {
	writer  string
	seq     int64
	tallies []store.Tally
}

var errLostTallyReply = errors.New("connection reset after the commit")

func (s *lossyTallier) set(down, lose bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down, s.lose = down, lose
}

// add runs fn, the adding, unless the store is down, and loses its reply
// while lose is set.
func (s *lossyTallier) add(fn func() error) error {
	if s.down {
		return errTallyStore
	}
	if err := fn(); err != nil {
		return err
	}
	if s.lose {
		return errLostTallyReply
	}
	return nil
}

func (s *lossyTallier) AddTallies(ctx context.Context, ns string, ts []store.Tally) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(func() error { return s.Memory.AddTallies(ctx, ns, ts) })
}

// onceTallier is a lossyTallier that implements store.OnceTallier.
type onceTallier struct{ *lossyTallier }

func (s onceTallier) AddTalliesOnce(ctx context.Context, ns, writer string, seq int64, ts []store.Tally) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, onceCall{writer, seq, append([]store.Tally(nil), ts...)})
	return s.add(func() error {
		if err := store.ValidateTallyBatch(writer, seq, ts); err != nil {
			return err
		}
		if s.last[writer] >= seq {
			return nil
		}
		if err := s.Memory.AddTallies(ctx, ns, ts); err != nil {
			return err
		}
		s.last[writer] = seq
		return nil
	})
}

func newLossyTallier(once bool) (store.Store, *lossyTallier) {
	l := &lossyTallier{Memory: store.NewMemory(), once: once, last: map[string]int64{}}
	if once {
		return onceTallier{l}, l
	}
	return l, l
}

// TestALostFlushReplyIsCountedOnce checks that counts whose flush the
// store added, but whose reply was lost, are counted once: the engine
// sends the batch again under its number, and the store adds it once.
// It checks as well that a batch the store never got goes again, and that
// counts taken meanwhile wait for it and go in the next batch.
func TestALostFlushReplyIsCountedOnce(t *testing.T) {
	ctx := context.Background()
	for _, fail := range []struct {
		name       string
		down, lose bool
	}{{"the reply is lost", false, true}, {"the store is down", true, false}} {
		t.Run(fail.name, func(t *testing.T) {
			s, l := newLossyTallier(true)
			e := tallyEngine(t, s, mockClock())
			for _, u := range []string{"u1", "u2", "u3"} {
				require.NoError(t, e.Track(ctx, received(u)))
			}
			l.set(fail.down, fail.lose)
			_, err := e.Tallies(ctx, store.TallyQuery{})
			require.Error(t, err)
			_, err = e.Tallies(ctx, store.TallyQuery{})
			require.Error(t, err, "the second try fails as well")
			require.NoError(t, e.Track(ctx, received("u4")))
			l.set(false, false)
			got, err := e.Tallies(ctx, store.TallyQuery{})
			require.NoError(t, err)
			require.Equal(t, int64(4), scheduledCount(got))
			got, err = e.Tallies(ctx, store.TallyQuery{})
			require.NoError(t, err)
			require.Equal(t, int64(4), scheduledCount(got), "flushed once")

			l.mu.Lock()
			defer l.mu.Unlock()
			require.Len(t, l.calls, 4, "the failed batch twice, again, then the next")
			first := l.calls[0]
			require.NotEmpty(t, first.writer)
			require.Equal(t, int64(1), first.seq)
			require.Equal(t, int64(3), scheduledCount(first.tallies))
			for i, c := range l.calls[1:3] {
				require.Equal(t, first, c, "try %d sends the first batch as it was", i+2)
			}
			require.Equal(t, first.writer, l.calls[3].writer)
			require.Equal(t, int64(2), l.calls[3].seq)
			require.Equal(t, int64(1), scheduledCount(l.calls[3].tallies), "the count taken meanwhile")
		})
	}
}

// TestEnginesAreTallyWritersOfTheirOwn checks that two engines on one
// store number their batches apart: the second engine's first batch is
// not taken for the first engine's.
func TestEnginesAreTallyWritersOfTheirOwn(t *testing.T) {
	ctx := context.Background()
	s, l := newLossyTallier(true)
	a := tallyEngine(t, s, mockClock())
	b, err := connector.New(s, nopSender)
	require.NoError(t, err)
	require.NoError(t, a.Track(ctx, received("u1")))
	require.NoError(t, b.Track(ctx, received("u2")))
	for _, e := range []interface {
		Tallies(context.Context, store.TallyQuery) ([]store.Tally, error)
	}{a, b} {
		_, err = e.Tallies(ctx, store.TallyQuery{})
		require.NoError(t, err)
	}
	require.Equal(t, int64(2), scheduledCount(storedTallies(t, l.Memory)))
	l.mu.Lock()
	defer l.mu.Unlock()
	require.Len(t, l.calls, 2)
	require.NotEqual(t, l.calls[0].writer, l.calls[1].writer)
}

// refusingTallier refuses every batch as invalid while refuse is set.
type refusingTallier struct {
	store.Store
	mu     sync.Mutex
	refuse bool
}

func (s *refusingTallier) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse {
		return fmt.Errorf("a rule the store cannot index: %w", store.ErrInvalidTally)
	}
	return nil
}

func (s *refusingTallier) AddTallies(ctx context.Context, ns string, ts []store.Tally) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.(store.Tallier).AddTallies(ctx, ns, ts)
}

func (s *refusingTallier) Tallies(ctx context.Context, ns string, q store.TallyQuery) ([]store.Tally, error) {
	return s.Store.(store.Tallier).Tallies(ctx, ns, q)
}

func (s *refusingTallier) PruneTallies(ctx context.Context, ns string, before time.Time) (int, error) {
	return s.Store.(store.Tallier).PruneTallies(ctx, ns, before)
}

type refusingOnceTallier struct{ *refusingTallier }

func (s refusingOnceTallier) AddTalliesOnce(ctx context.Context, ns, writer string, seq int64, ts []store.Tally) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.(store.OnceTallier).AddTalliesOnce(ctx, ns, writer, seq, ts)
}

// TestABatchTheStoreRefusesIsDropped checks that counts the store refuses
// as invalid, which it would refuse on every flush, are dropped with an
// error that says so, and that later counts are flushed: they are not held
// back behind the refused ones.
func TestABatchTheStoreRefusesIsDropped(t *testing.T) {
	ctx := context.Background()
	for _, once := range []bool{false, true} {
		t.Run(fmt.Sprintf("once=%v", once), func(t *testing.T) {
			inner, l := newLossyTallier(once)
			r := &refusingTallier{Store: inner}
			var s store.Store = r
			if once {
				s = refusingOnceTallier{r}
			}
			e := tallyEngine(t, s, mockClock())
			for _, u := range []string{"u1", "u2"} {
				require.NoError(t, e.Track(ctx, received(u)))
			}
			r.mu.Lock()
			r.refuse = true
			r.mu.Unlock()
			_, err := e.Tallies(ctx, store.TallyQuery{})
			require.ErrorIs(t, err, store.ErrInvalidTally)
			require.ErrorContains(t, err, "counts dropped")
			r.mu.Lock()
			r.refuse = false
			r.mu.Unlock()
			require.NoError(t, e.Track(ctx, received("u3")))
			got, err := e.Tallies(ctx, store.TallyQuery{})
			require.NoError(t, err)
			require.Equal(t, int64(1), scheduledCount(got), "the later count, without the refused ones")
			require.Equal(t, int64(1), scheduledCount(storedTallies(t, l.Memory)))
		})
	}
}

// TestRunSaysWhatItsLastFlushLeft checks that counts Run's last flush
// could not add (the store failing) are logged with their number as Run
// returns: they are lost if the process ends.
func TestRunSaysWhatItsLastFlushLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, l := newLossyTallier(true)
		var logs bytes.Buffer
		e := tallyEngine(t, s, connector.WithClock(clock.New()), logTo(&logs))
		stop, done := runInBubble(e)
		l.set(true, false)
		for _, u := range []string{"u1", "u2", "u3"} {
			require.NoError(t, e.Track(context.Background(), received(u)))
		}
		stop()
		require.NoError(t, <-done)
		require.Contains(t, logs.String(), "3 decision counts not flushed as Run returns")
	})
}

// gatedTallier is a onceTallier whose calls wait, once armed, until the
// gate opens.
type gatedTallier struct {
	onceTallier
	armed   atomic.Bool
	entered chan struct{}
	gate    chan struct{}
}

func (s *gatedTallier) AddTalliesOnce(ctx context.Context, ns, writer string, seq int64, ts []store.Tally) error {
	if s.armed.CompareAndSwap(true, false) {
		close(s.entered)
		<-s.gate
	}
	return s.onceTallier.AddTalliesOnce(ctx, ns, writer, seq, ts)
}

// TestRunStoppingBehindAReadersFlushLogsNoError checks that Run's flusher,
// waiting for a dashboard's flush when Run is stopped, gives up without
// logging an error: the last flush follows, and adds the counts.
func TestRunStoppingBehindAReadersFlushLogsNoError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner, _ := newLossyTallier(true)
		s := &gatedTallier{onceTallier: inner.(onceTallier), entered: make(chan struct{}), gate: make(chan struct{})}
		var logs bytes.Buffer
		e := tallyEngine(t, s, connector.WithClock(clock.New()), logTo(&logs))
		stop, done := runInBubble(e)
		require.NoError(t, e.Track(context.Background(), received("u1")))
		time.Sleep(4900 * time.Millisecond) // Run's flusher flushes 5 s after the engine began
		s.armed.Store(true)
		read := make(chan error, 1)
		go func() {
			_, err := e.Tallies(context.Background(), store.TallyQuery{})
			read <- err
		}()
		<-s.entered
		require.NoError(t, e.Track(context.Background(), received("u2"))) // for the last flush
		time.Sleep(600 * time.Millisecond)                                // Run's flusher waits for the reader's flush
		synctest.Wait()
		stop()
		synctest.Wait()
		close(s.gate)
		require.NoError(t, <-read)
		require.NoError(t, <-done)
		require.NotContains(t, logs.String(), "level=ERROR")
		require.Equal(t, int64(2), scheduledCount(storedTallies(t, inner.(onceTallier).Memory)), "the reader's count, then the last flush's")
	})
}

// slowTallier is a onceTallier whose calls take delay (a timer: run it in
// a synctest bubble), and fail with err when it is set.
type slowTallier struct {
	onceTallier
	delay time.Duration
	mu    sync.Mutex
	err   error
}

func (s *slowTallier) AddTalliesOnce(ctx context.Context, ns, writer string, seq int64, ts []store.Tally) error {
	time.Sleep(s.delay)
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.onceTallier.AddTalliesOnce(ctx, ns, writer, seq, ts)
}

// TestRunsLastFlushDoesNotWaitForTheNextReader checks that Run returns
// once its last flush is done, without waiting for a dashboard's read
// that queued behind it: what the last flush left is counted before the
// read's flush takes the slot.
func TestRunsLastFlushDoesNotWaitForTheNextReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner, _ := newLossyTallier(true)
		s := &slowTallier{onceTallier: inner.(onceTallier), delay: 2 * time.Second}
		e := tallyEngine(t, s, connector.WithClock(clock.New()))
		stop, done := runInBubble(e)
		require.NoError(t, e.Track(context.Background(), received("u1")))
		time.Sleep(time.Second)
		stop() // the last flush sends u1's count, for 2 s
		stopped := time.Now()
		time.Sleep(500 * time.Millisecond)
		require.NoError(t, e.Track(context.Background(), received("u2")))
		read := make(chan error, 1)
		go func() {
			_, err := e.Tallies(context.Background(), store.TallyQuery{}) // waits, then sends u2's, for 2 s
			read <- err
		}()
		require.NoError(t, <-done)
		require.Equal(t, 2*time.Second, time.Since(stopped), "Run returns with its last flush")
		require.NoError(t, <-read)
	})
}

// TestRunLogsWhatItsFlusherDroppedAsItStops checks that an error of the
// store's in the flush under way as Run stops is logged, here a batch
// refused as invalid, whose counts are dropped: only the flusher giving
// up its wait for another flush goes unlogged.
func TestRunLogsWhatItsFlusherDroppedAsItStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner, _ := newLossyTallier(true)
		s := &slowTallier{onceTallier: inner.(onceTallier), delay: 2 * time.Second, err: fmt.Errorf("a rule it cannot index: %w", store.ErrInvalidTally)}
		var logs bytes.Buffer
		e := tallyEngine(t, s, connector.WithClock(clock.New()), logTo(&logs))
		stop, done := runInBubble(e)
		require.NoError(t, e.Track(context.Background(), received("u1")))
		time.Sleep(6 * time.Second) // Run's flusher is in its store call
		stop()
		require.NoError(t, <-done)
		require.Contains(t, logs.String(), "1 counts dropped")
	})
}

// runInBubble starts e.Run in the test's synctest bubble and waits until
// it sleeps; stop ends it, and done receives what Run returns.
func runInBubble(e *connector.Engine) (stop func(), done <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- e.Run(ctx) }()
	synctest.Wait()
	return cancel, ch
}

// logTo is the option of an engine that logs to buf.
func logTo(buf *bytes.Buffer) connector.Option {
	return connector.WithLogger(slog.New(slog.NewTextHandler(buf, nil)))
}
