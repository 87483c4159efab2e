package connector

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/linetext"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Decision tallies: every decision about a user (every kind but Warning
// and Applied, which are about campaigns) is counted per follow-up, hour,
// kind, reason and, for a cancellation by an exception, the exception,
// whether or not anyone observes decisions.
// The counts gather in the engine (tally_book.go) and go to the store
// ([store.Tallier]) in batches, so that counting costs a decision an
// atomic add to a counter of its follow-up, and no store call. A crash
// loses the counts not yet flushed: at most the last few seconds'.
//
// An update function notes its decisions as marks (it may run again: the
// marks are reset with its decisions); the marks are counted once the
// store has the update. A mark names its kind and reason by a small code
// (tally_codes.go), so that counting indexes an array.

const (
	// DefaultTallyRetention is how long the store keeps decision tallies
	// unless [WithTallyRetention] says otherwise.
	DefaultTallyRetention = 30 * 24 * time.Hour
	// tallyFlushEvery spaces the flushes of Tick and of Run's flusher.
	tallyFlushEvery = 5 * time.Second
	// tallyFlushTimeout bounds a flush's store call, which does not end
	// with its caller's context.
	tallyFlushTimeout = 5 * time.Second
	// tallyBatchMax bounds the keys of one batch of counts: a backlog goes
	// in store calls of that many, each well within tallyFlushTimeout
	// (about 50 ms for PostgreSQL on a 2-vCPU machine).
	tallyBatchMax = 4096
	// tallyStripes spreads a follow-up's counters over cache lines, chosen
	// by a byte of the user ID, so that goroutines counting decisions of
	// one follow-up on several cores rarely add to the same line.
	tallyStripes = 8
	// tallyRuleMax bounds the bytes of an exception's name in the tallies
	// (store.Tally.Rule), so that a tally's key stays within what every
	// store can index, long conditions included.
	tallyRuleMax = 512
)

// WithTallyRetention sets how long the store keeps decision tallies:
// the engine's prune removes the hours that ended longer ago. Defaults to
// [DefaultTallyRetention].
func WithTallyRetention(d time.Duration) Option {
	return positive("tally retention", d, func(cfg *config) *time.Duration { return &cfg.tallyRetention })
}

// WithoutTallies turns decision tallies off: the engine counts nothing
// and prunes no tallies. [Engine.Tallies] still reads what other engines
// of the namespace store.
func WithoutTallies() Option {
	return func(cfg *config) error {
		cfg.noTallies = true
		return nil
	}
}

// TallyRetention returns how long the store keeps decision tallies by
// this engine's prune ([WithTallyRetention], or [DefaultTallyRetention]),
// or 0 when the engine prunes none: its tallies are off
// ([WithoutTallies]). Other engines of the namespace prune with their
// own.
func (e *Engine) TallyRetention() time.Duration {
	if e.cfg.noTallies {
		return 0
	}
	return e.cfg.tallyRetention
}

// newTallyBook returns the engine's tally book, or nil when the engine
// counts nothing: tallies are off or the store keeps none.
func newTallyBook(s store.Store, cfg *config) (*tallyBook, error) {
	if cfg.noTallies && cfg.tallyRetention > 0 {
		return nil, errorf("WithTallyRetention(%v) with WithoutTallies: there are no tallies to keep", cfg.tallyRetention)
	}
	if cfg.tallyRetention == 0 {
		cfg.tallyRetention = DefaultTallyRetention
	}
	ts, ok := s.(store.Tallier)
	if !ok || cfg.noTallies {
		return nil, nil
	}
	b := &tallyBook{store: ts, ns: cfg.namespace, cells: map[string]*tallyCell{}, dirtied: make(chan struct{}, 1), flushing: make(chan struct{}, 1),
		unsent: map[store.TallyKey]int64{}, clock: cfg.clock, retention: cfg.tallyRetention}
	if once, ok := ts.(store.OnceTallier); ok {
		b.once, b.writer = once, rand.Text()
	}
	b.lastFlush.Store(cfg.clock.Now().UnixNano())
	return b, nil
}

// tallyMark is a decision to count: its follow-up's counters, its kind
// and reason as a code, and for a cancellation by an exception the
// exception.
type tallyMark struct {
	cell *tallyCell
	rule string
	code tallyCode
}

type tallyMarks []tallyMark

// add notes a decision about follow-up id (c, its snapshot entry, when
// the decision point has it), if e counts.
func (m *tallyMarks) add(e *Engine, c *campaign, id string, code tallyCode, rl string) {
	if b := e.tallies; b != nil {
		var cell *tallyCell
		if c != nil {
			cell = c.tally.Load()
		}
		if cell == nil {
			cell = b.cellFor(c, id)
		}
		*m = append(*m, tallyMark{cell: cell, rule: rl, code: code})
	}
}

// addPair notes a decision of kind and reason about follow-up id (c when
// known), if e counts.
func (m *tallyMarks) addPair(e *Engine, c *campaign, id string, kind rule.DecisionKind, reason rule.Reason) {
	if e.tallies != nil {
		m.add(e, c, id, codeOf(kind, reason), "")
	}
}

// reset empties m for an update function's (next) run. The marks past
// the new length are not cleared (that cost a call per event): they hold
// on to a follow-up's snapshot entry until overwritten, as a pooled
// tracker's matching lists do.
func (m *tallyMarks) reset() { *m = (*m)[:0] }

// tally counts the decisions marks notes, taken at now about user userID
// by the engine's call op ("track", "tick": the label of a background
// flush's failure). Marks are only noted when the engine counts: without
// tallies this is a length check.
func (e *Engine) tally(marks tallyMarks, now time.Time, userID, op string) {
	if len(marks) > 0 {
		e.tallies.count(marks, now, userID)
		e.flushWithoutRun(now, op)
	}
}

// tallyN counts n decisions of code about follow-up id, taken at now by
// the engine's call op.
func (e *Engine) tallyN(id string, code tallyCode, now time.Time, n int, op string) {
	if e.tallies != nil && n > 0 {
		e.tallies.countN(id, code, now, int64(n))
		e.flushWithoutRun(now, op)
	}
}

// flushWithoutRun flushes the engine's counts in the background, once
// tallyFlushEvery has passed since the last flush (or at once if the clock
// went back), when Run is not running: an engine that only tracks (a
// replica that receives webhooks while others send) gets its counts to
// the store within seconds of its next decision, as one running Run does.
// The goroutine ends with the flush; a failure is logged under op, the
// call whose decision started it.
func (e *Engine) flushWithoutRun(now time.Time, op string) {
	b := e.tallies
	if e.running.Load() {
		return
	}
	last := b.lastFlush.Load()
	if since := now.UnixNano() - last; since >= 0 && since < int64(tallyFlushEvery) {
		return
	}
	if !b.lastFlush.CompareAndSwap(last, now.UnixNano()) {
		return // another decision's flush is starting
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), tallyFlushTimeout)
		defer cancel()
		if err := inBackground(func() error { return b.flushUnlessBusy(ctx) }); err != nil {
			e.logError(op, err)
		}
	}()
}

// maybeFlushTallies flushes the engine's counts once tallyFlushEvery has
// passed since the last flush (or at once if the clock went back), for
// hosts that call Tick without Run, unless a flush is under way. With no
// counts waiting it does nothing, and in particular does not restart the
// interval: the next decision's counts go out as promptly as after any
// quiet spell. A failure is logged: the counts wait for the next flush.
func (e *Engine) maybeFlushTallies(ctx context.Context, now time.Time) {
	b := e.tallies
	if b == nil || !b.dirty.Load() || e.running.Load() {
		return // Run's flusher flushes, beside the sending
	}
	last := b.lastFlush.Load()
	if since := now.UnixNano() - last; since >= 0 && since < int64(tallyFlushEvery) {
		return
	}
	if !b.lastFlush.CompareAndSwap(last, now.UnixNano()) {
		return // another Tick flushes
	}
	if err := b.flushUnlessBusy(ctx); err != nil {
		e.logError("tick", err)
	}
}

// startTallyFlusher starts Run's flusher, which flushes the engine's
// counts tallyFlushEvery after the last flush whenever there are some, so
// that they reach the store within seconds even while Run sleeps for
// hours. stop ends it and flushes what is left, after the flushes under
// way (a dashboard's reads, served in turn): each flush ends within twice
// tallyFlushTimeout for a store that honours its context (a flush under
// way stops sending batches once the flusher's context ends). A store
// that ignores it holds Run's return, as any of its calls would.
// A failure is logged: the counts wait for the next flush. What the last
// flush leaves (a backlog larger than one flush sends, or a store that
// fails) is logged with its number of counts.
func (e *Engine) startTallyFlusher(ctx context.Context) (stop func()) {
	b := e.tallies
	if b == nil {
		return func() {}
	}
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-fctx.Done():
				return
			case <-b.dirtied:
			}
			// A wait longer than tallyFlushEvery means the clock went
			// back since the last flush: flush at once, as Tick does.
			if wait := time.Duration(b.lastFlush.Load() + int64(tallyFlushEvery) - e.cfg.clock.Now().UnixNano()); wait > 0 && wait <= tallyFlushEvery {
				t := e.cfg.clock.Timer(wait)
				select {
				case <-fctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			b.lastFlush.Store(e.cfg.clock.Now().UnixNano())
			// A flush that gave up waiting for another because Run stops
			// (flush returns the context's own error) is not an error: the
			// last flush follows. Any other error, the store's, is logged.
			if err := inBackground(func() error { return b.flush(fctx) }); err != nil && err != fctx.Err() {
				e.logError("run", err)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		// The last flush waits for one under way (a dashboard's read),
		// which its own time bound ends, so that nothing counted before
		// Run returns is left behind; what it cannot add is counted before
		// another flush takes its place.
		left, err := b.flushAll(context.Background())
		if err != nil {
			e.logError("run", err)
		}
		if left > 0 {
			e.logError("run", fmt.Errorf("connector: %d decision counts not flushed as Run returns: a later flush of this engine takes them, the end of the process loses them", left))
		}
	}
}

// pruneTallies removes, with the engine's prune, the store's tallies of
// the hours that ended longer than the retention ago: the hours before the
// one that started retention ago.
func (e *Engine) pruneTallies(ctx context.Context, now time.Time) error {
	if e.tallies == nil {
		return nil
	}
	before := time.Unix(hourOf(now.Add(-e.cfg.tallyRetention)), 0)
	if _, err := e.tallies.store.PruneTallies(ctx, e.cfg.namespace, before); err != nil {
		return fmt.Errorf("connector: tick: pruning decision tallies: %w", cutShort(ctx, err))
	}
	return nil
}

// markDuplicates notes the duplicate decisions of an event whose ID the
// store had already: one per follow-up the event concerns, its triggers'
// first, as duplicates records them.
func (t *tracker) markDuplicates() {
	if t.e.tallies == nil {
		return
	}
	for _, r := range t.triggers {
		t.marks.add(t.e, r.c, r.c.Campaign.ID, tcDuplicate, "")
	}
	for _, r := range t.exceptions {
		if t.triggerOf(r.c.Campaign.ID) < 0 {
			t.marks.add(t.e, r.c, r.c.Campaign.ID, tcDuplicate, "")
		}
	}
}

// scheduledCode is the code of a Scheduled decision, late when the due time
// had already passed.
func scheduledCode(late bool) tallyCode {
	if late {
		return tcScheduledLate
	}
	return tcScheduled
}

// tallyUnknownCampaign counts an ignored decision about an event naming a
// campaign the engine does not know (taken at now, or the clock's now when
// zero). It is counted under no follow-up (""): the event's campaign ID is
// whatever the host received, and counting by it would let any sender
// make the store keep a row per made-up ID.
func (e *Engine) tallyUnknownCampaign(now time.Time) {
	if e.tallies == nil {
		return
	}
	if now.IsZero() {
		now = e.cfg.clock.Now()
	}
	e.tallies.countN("", tcIgnored[ignoredUnknownCampaign], now, 1)
	e.flushWithoutRun(now, "track")
}

// tallyRuleName returns the name of exception desc (its String form) in the
// tallies: desc itself when it fits in tallyRuleMax bytes, else its start,
// cut at a character boundary, then "…" and a digest of the whole, so that
// two long exceptions with the same start keep counts of their own.
func tallyRuleName(desc string) string {
	if len(desc) <= tallyRuleMax {
		return desc
	}
	sum := sha256.Sum256([]byte(desc))
	tail := "… #" + hex.EncodeToString(sum[:8])
	return linetext.Clip(desc, tallyRuleMax-len(tail)) + tail
}

// inBackground runs flush, a flush on one of the engine's own goroutines,
// and returns its error. There nothing of the host's could recover a
// panic of the store's, which would end the process: it is the flush's
// error instead, and the counts wait for the next flush.
func inBackground(flush func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("connector: flushing decision tallies: the store panicked: %v", v)
		}
	}()
	return flush()
}
