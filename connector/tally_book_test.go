package connector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// bookStore is a memory store whose tally calls fail while down is set,
// take delay plus perKey for each tally (a timer: run it in a synctest
// bubble), and refuse a batch holding a tally that ValidateTallies
// refuses, as every store must. It records the size of each call that
// added its tallies. With once, the book sees it as a store.OnceTallier.
type bookStore struct {
	*store.Memory
	mu            sync.Mutex
	down          bool
	delay, perKey time.Duration
	last          map[string]int64
	added         []int
	seqs          []int64
}

var errBookStoreDown = errors.New("tally store down")

func (s *bookStore) add(ctx context.Context, ns string, ts []store.Tally) error {
	s.mu.Lock()
	down, delay := s.down, s.delay+time.Duration(len(ts))*s.perKey
	s.mu.Unlock()
	if down {
		return errBookStoreDown
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	if err := s.Memory.AddTallies(ctx, ns, ts); err != nil {
		return err
	}
	s.mu.Lock()
	s.added = append(s.added, len(ts))
	s.mu.Unlock()
	return nil
}

func (s *bookStore) AddTallies(ctx context.Context, ns string, ts []store.Tally) error {
	return s.add(ctx, ns, ts)
}

type onceBookStore struct{ *bookStore }

func (s onceBookStore) AddTalliesOnce(ctx context.Context, ns, writer string, seq int64, ts []store.Tally) error {
	if err := store.ValidateTallyBatch(writer, seq, ts); err != nil {
		return err
	}
	s.mu.Lock()
	done := s.last[writer] >= seq
	s.mu.Unlock()
	if done {
		return nil
	}
	if err := s.add(ctx, ns, ts); err != nil {
		return err
	}
	s.mu.Lock()
	s.last[writer] = seq
	s.seqs = append(s.seqs, seq)
	s.mu.Unlock()
	return nil
}

// newBook returns a tally book on a bookStore, adding batches at most
// once when once is set.
func newBook(once bool) (*tallyBook, *bookStore) {
	s := &bookStore{Memory: store.NewMemory(), last: map[string]int64{}}
	b := &tallyBook{store: s, cells: map[string]*tallyCell{}, dirtied: make(chan struct{}, 1), flushing: make(chan struct{}, 1), unsent: map[store.TallyKey]int64{}}
	if once {
		b.once, b.writer = onceBookStore{s}, "engine-1"
		b.store = b.once
	}
	return b, s
}

func (s *bookStore) scheduled(t *testing.T) int64 {
	t.Helper()
	got, err := s.Tallies(context.Background(), "", store.TallyQuery{})
	require.NoError(t, err)
	var n int64
	for _, x := range got {
		if x.Kind == rule.Scheduled {
			n += x.Count
		}
	}
	return n
}

// TestCountsWaitingForTheStoreTakeOneEntryPerKey checks that while the
// store is down the book keeps one count per key and hour within the
// tally retention, not the counters of every hour the outage lasts nor
// the hours the prune would remove: each flush takes them, whether or not
// a batch waits to be sent again.
func TestCountsWaitingForTheStoreTakeOneEntryPerKey(t *testing.T) {
	for _, once := range []bool{false, true} {
		b, s := newBook(once)
		clk := clock.NewMock()
		t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		clk.Set(t0)
		b.clock, b.retention = clk, 24*time.Hour
		ctx := context.Background()
		b.countN("resend", tcScheduled, t0, 1)
		s.down = true
		const hours = 48
		for h := range hours {
			clk.Set(t0.Add(time.Duration(h) * time.Hour))
			for _, id := range []string{"resend", "coupon"} {
				b.countN(id, tcScheduled, clk.Now(), 1)
			}
			require.ErrorIs(t, b.flush(ctx), errBookStoreDown)
		}
		for _, id := range []string{"resend", "coupon"} {
			c := b.cell(id)
			c.mu.Lock()
			n := len(c.hours)
			c.mu.Unlock()
			require.LessOrEqual(t, n, tallyForget+3, "once=%v: hours of %s held as counters", once, id)
		}
		require.LessOrEqual(t, len(b.unsent)+len(b.held), 2*25+1, "once=%v: one count per key and hour, within the retention", once)
		s.down = false
		require.NoError(t, b.flush(ctx))
		// The hours from 23 (the last hour ended at 47:00, one day ago) on.
		require.Equal(t, int64(2*25), s.scheduled(t), "once=%v: every count within the retention, once", once)
	}
}

// TestABacklogGoesInBatchesTheStoreCanTake checks that counts that piled
// up go in store calls of at most tallyBatchMax keys, each with its own
// timeout and number: a store taking 1 ms per key takes a backlog that,
// sent at once, would not fit in tallyFlushTimeout. When a call fails,
// its batch is sent again first, and the rest follows. A flush stops
// sending once tallyFlushTimeout has passed, leaving the rest to the next.
func TestABacklogGoesInBatchesTheStoreCanTake(t *testing.T) {
	for _, once := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			b, s := newBook(once)
			ctx := context.Background()
			now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			const keys = 10_000
			for i := range keys {
				b.countN(fmt.Sprint("f", i), tcScheduled, now, 1)
			}
			s.perKey = time.Millisecond
			s.down = true
			require.Error(t, b.flush(ctx))
			s.down = false
			start := time.Now()
			require.NoError(t, b.flush(ctx))
			require.Equal(t, 2*tallyBatchMax*time.Millisecond, time.Since(start), "once=%v: two batches, then the flush's time is up", once)
			require.Equal(t, int64(2*tallyBatchMax), s.scheduled(t), "once=%v", once)
			require.Equal(t, int64(keys-2*tallyBatchMax), b.waitingLocked(), "once=%v", once)
			require.True(t, b.dirty.Load(), "once=%v: the next flush takes the rest", once)
			require.NoError(t, b.flush(ctx))
			require.Equal(t, int64(keys), s.scheduled(t), "once=%v", once)
			require.Equal(t, []int{tallyBatchMax, tallyBatchMax, keys - 2*tallyBatchMax}, s.added, "once=%v", once)
			if once {
				require.Equal(t, []int64{1, 2, 3}, s.seqs, "the batch that failed went first, under its number")
			}
		})
	}
}

// TestAFlushStopsSendingWhenItsCallerLeaves checks that a flush whose
// context ends (a dashboard's reader leaving, Run stopping) finishes the
// store call under way, and sends no more: the rest waits for the next.
func TestAFlushStopsSendingWhenItsCallerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, s := newBook(true)
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		for i := range 3 * tallyBatchMax {
			b.countN(fmt.Sprint("f", i), tcScheduled, now, 1)
		}
		s.delay = 2 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		require.NoError(t, b.flush(ctx))
		require.Equal(t, 2*time.Second, time.Since(start), "the call under way ends; none follows")
		require.Equal(t, int64(tallyBatchMax), s.scheduled(t))
		require.Equal(t, int64(2*tallyBatchMax), b.waitingLocked())
		require.True(t, b.dirty.Load())
	})
}

// TestEachTallyCallHasTheWholeTimeout checks that the batch sent again
// and the next one each have tallyFlushTimeout: a store answering in 3 s
// takes both in one flush.
func TestEachTallyCallHasTheWholeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, s := newBook(true)
		ctx := context.Background()
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		b.countN("resend", tcScheduled, now, 2)
		s.down = true
		require.Error(t, b.flush(ctx))
		s.down, s.delay = false, 3*time.Second
		b.countN("resend", tcScheduled, now, 3)
		require.NoError(t, b.flush(ctx))
		require.Nil(t, b.held)
		require.Empty(t, b.unsent)
		require.Equal(t, int64(5), s.scheduled(t))
	})
}

// TestARefusedBatchKeepsWhatTheStoreCanTake checks that of a batch the
// store refuses as invalid, the tallies ValidateTallies accepts go with
// the next flush, under the same number, and the others are dropped, with
// an error that says how many counts went.
func TestARefusedBatchKeepsWhatTheStoreCanTake(t *testing.T) {
	for _, once := range []bool{false, true} {
		b, s := newBook(once)
		ctx := context.Background()
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		b.countN("resend", tcScheduled, now, 4)
		b.unsent = map[store.TallyKey]int64{{Hour: hourOf(now), CampaignID: "resend\x00"}: 7} // no kind, and a NUL byte
		err := b.flush(ctx)
		require.ErrorIs(t, err, store.ErrInvalidTally, "once=%v", once)
		require.ErrorContains(t, err, "7 counts dropped, 4 kept", "once=%v", once)
		require.NoError(t, b.flush(ctx), "once=%v", once)
		require.Equal(t, int64(4), s.scheduled(t), "once=%v", once)
		if once {
			require.Equal(t, int64(1), b.seq, "the kept tallies went under the refused batch's number")
		}
	}
}

// TestTickLeavesTalliesToRunsFlusher checks that a Tick made while Run
// runs (Run's own) does not flush the tallies in line with its sending:
// Run's flusher does, beside it. Without Run, Tick flushes.
func TestTickLeavesTalliesToRunsFlusher(t *testing.T) {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s := store.NewMemory()
	e, err := New(s, SenderFunc(func(context.Context, Delivery) error { return nil }), WithClock(clk))
	require.NoError(t, err)
	ctx := context.Background()
	e.tallies.countN("resend", tcScheduled, clk.Now(), 1)
	stored := func() int {
		got, err := s.Tallies(ctx, "", store.TallyQuery{})
		require.NoError(t, err)
		return len(got)
	}
	e.running.Store(true)
	e.maybeFlushTallies(ctx, clk.Now().Add(time.Minute))
	require.Zero(t, stored(), "while Run runs")
	e.running.Store(false)
	e.maybeFlushTallies(ctx, clk.Now().Add(time.Minute))
	require.Equal(t, 1, stored(), "without Run")
}
