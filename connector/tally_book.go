package connector

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/campaignconnector/campaignconnector/store"
)

// tallyBook holds an engine's counts until they are flushed: one cell of
// counters per follow-up, found through the follow-up's snapshot entry
// without a map look-up.
type tallyBook struct {
	store store.Tallier
	ns    string

	mu    sync.Mutex // guards cells
	cells map[string]*tallyCell

	dirty     atomic.Bool   // counts were added since the last flush began
	dirtied   chan struct{} // receives a value when dirty is set (Run's flusher waits on it)
	lastFlush atomic.Int64  // Unix ns of the clock at the last flush of Tick or Run

	flushing chan struct{}            // holds a value while a flush is under way: one at a time
	unsent   map[store.TallyKey]int64 // counts taken from the counters, not yet sent

	// The batch a failed call did not add, to be sent again first, and
	// its number (the last sent); with a store that adds a batch at most
	// once, the engine's name as its writer.
	held   []store.Tally
	seq    int64
	once   store.OnceTallier
	writer string

	clock     Clock         // the engine's
	retention time.Duration // the engine's tally retention: older hours are not kept for the store (0: all are)
}

// tallyCell is one follow-up's counters: one set per hour, the latest in
// cur, which counting finds with two loads and adds to with one atomic
// add. A decision of another hour (taken just before the hour turned,
// counted just after) takes the cell's lock to find its hour's set.
type tallyCell struct {
	id  string
	cur atomic.Pointer[tallyHour]

	mu    sync.Mutex // guards hours, and what is counted under it
	hours map[int64]*tallyHour
}

// tallyMaxCodes bounds the codes counted with atomic adds; the sets of
// kinds and reasons give a few dozen (tally_codes.go). Others are counted
// under the cell's lock.
const tallyMaxCodes = 48

// tallyHour is a follow-up's counters of one hour. They only grow: a
// flush takes what they gained since the last one, so that counting and
// flushing never wait for each other and nothing counted meanwhile is
// lost. They are in stripes chosen by a byte of the user ID, so that
// goroutines counting decisions of one follow-up on several cores rarely
// add to the same cache line.
type tallyHour struct {
	hour   int64 // Unix second the hour starts at
	counts [tallyStripes][tallyMaxCodes]atomic.Int64
	rules  atomic.Pointer[[]*tallyRule] // cancellations by an exception, per exception; replaced under the cell's lock
	more   map[tallyCode]int64          // codes from tallyMaxCodes on, under the cell's lock

	// The flush's, under the cell's lock.
	flushed [tallyMaxCodes]int64 // the counts the last flush took, summed over the stripes
	idle    int                  // flushes in a row that found nothing new
}

// tallyRule counts the cancellations by one exception.
type tallyRule struct {
	rule    string
	n       atomic.Int64
	flushed int64
}

func (b *tallyBook) count(marks tallyMarks, now time.Time, userID string) {
	var hint byte
	if userID != "" {
		hint = userID[len(userID)-1]
	}
	hour := hourOf(now)
	for i := range marks {
		m := &marks[i]
		h := m.cell.cur.Load()
		if h == nil || h.hour != hour {
			h = m.cell.at(hour)
		}
		switch {
		case m.code == tcCancelledException:
			// Most follow-ups have one exception: its counter comes first.
			if p := h.rules.Load(); p != nil && same((*p)[0].rule, m.rule) {
				(*p)[0].n.Add(1)
			} else {
				m.cell.addSlow(h, m.code, m.rule, 1)
			}
		case m.code < tallyMaxCodes:
			h.counts[hint%tallyStripes][m.code].Add(1)
		default:
			m.cell.addSlow(h, m.code, m.rule, 1)
		}
	}
	b.markDirty()
}

func (b *tallyBook) countN(id string, code tallyCode, now time.Time, n int64) {
	cell := b.cell(id)
	h := cell.at(hourOf(now))
	if code < tallyMaxCodes && code != tcCancelledException {
		h.counts[0][code].Add(n)
	} else {
		cell.addSlow(h, code, "", n)
	}
	b.markDirty()
}

// markDirty notes that counts wait for a flush.
func (b *tallyBook) markDirty() {
	if !b.dirty.Load() && b.dirty.CompareAndSwap(false, true) {
		select {
		case b.dirtied <- struct{}{}:
		default:
		}
	}
}

// hourOf returns the Unix second the hour of t starts at.
func hourOf(t time.Time) int64 {
	s := t.Unix()
	if s >= 0 {
		return int64(uint64(s) / 3600 * 3600) // unsigned: cheaper than a signed division
	}
	return (s - 3599) / 3600 * 3600
}

// cellFor returns the cell of follow-up id, and remembers it in the
// follow-up's snapshot entry c when there is one.
func (b *tallyBook) cellFor(c *campaign, id string) *tallyCell {
	cell := b.cell(id)
	if c != nil {
		c.tally.Store(cell)
	}
	return cell
}

// cell returns the cell of follow-up id, creating it on first use. Cells
// are never removed: an engine has one per follow-up it decided about.
func (b *tallyBook) cell(id string) *tallyCell {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.cells[id]
	if c == nil {
		c = &tallyCell{id: id, hours: map[int64]*tallyHour{}}
		b.cells[id] = c
	}
	return c
}

// at returns the cell's counters of hour, created if need be; they become
// the cell's current ones unless it has a later hour's.
func (c *tallyCell) at(hour int64) *tallyHour {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hours[hour]
	if h == nil {
		h = &tallyHour{hour: hour}
		c.hours[hour] = h
	}
	if cur := c.cur.Load(); cur == nil || cur.hour < hour {
		c.cur.Store(h)
	}
	return h
}

// addSlow counts n decisions of code in h, for the codes counted another
// way: cancellations by an exception (rl), per exception, and codes past
// tallyMaxCodes.
func (c *tallyCell) addSlow(h *tallyHour, code tallyCode, rl string, n int64) {
	if code != tcCancelledException {
		c.mu.Lock()
		if h.more == nil {
			h.more = map[tallyCode]int64{}
		}
		h.more[code] += n
		c.mu.Unlock()
		return
	}
	if r := h.rule(rl); r != nil {
		r.n.Add(n)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := h.rule(rl)
	if r == nil {
		r = &tallyRule{rule: rl}
		var rules []*tallyRule
		if p := h.rules.Load(); p != nil {
			rules = *p
		}
		rules = append(rules[:len(rules):len(rules)], r)
		h.rules.Store(&rules)
	}
	r.n.Add(n)
}

// rule returns h's counter of the cancellations by exception rl, or nil.
func (h *tallyHour) rule(rl string) *tallyRule {
	if p := h.rules.Load(); p != nil {
		for _, r := range *p {
			if same(r.rule, rl) {
				return r
			}
		}
	}
	return nil
}

// same reports whether a and b are the same bytes in memory. Rules are
// the snapshot's strings: the same exception comes with the same bytes,
// and comparing two pointers costs less than comparing two strings. Equal
// strings elsewhere in memory (empty ones too) get counters of their own,
// which the flush adds up.
func same(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// tallyForget is how many flushes in a row must find nothing new in an
// hour's counters, at least two hours behind the cell's latest, before
// they are dropped: a decision is counted within microseconds of its
// hour's set being looked up, and a late one looks its hour up again.
const tallyForget = 3

// drain adds to acc what the cell's counters gained since the last
// flush, and drops the counters of hours long past that gain nothing.
func (c *tallyCell) drain(acc map[store.TallyKey]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	latest := c.cur.Load()
	for hour, h := range c.hours {
		gained := false
		key := func(code tallyCode) store.TallyKey {
			p := pairOf(code)
			k := store.TallyKey{Hour: hour, CampaignID: c.id, Kind: p.kind, Reason: p.reason}
			if p.whenDue {
				k.Rule = store.RuleWhenDue
			}
			return k
		}
		for code := range tallyCode(tallyMaxCodes) {
			var total int64
			for s := range h.counts {
				total += h.counts[s][code].Load()
			}
			if d := total - h.flushed[code]; d != 0 {
				acc[key(code)] += d
				h.flushed[code], gained = total, true
			}
		}
		if p := h.rules.Load(); p != nil {
			for _, r := range *p {
				if n := r.n.Load(); n != r.flushed {
					k := key(tcCancelledException)
					k.Rule = r.rule
					acc[k] += n - r.flushed
					r.flushed, gained = n, true
				}
			}
		}
		for code, n := range h.more {
			acc[key(code)] += n
			gained = true
		}
		clear(h.more)
		if gained {
			h.idle = 0
		} else if h.idle++; h.idle >= tallyForget && h != latest && hour <= latest.hour-2*3600 {
			delete(c.hours, hour)
		}
	}
}

// flush adds every count the engine holds to the store. If the store
// fails, the counts are kept for the next flush. Should the failure hide
// a commit, a store that adds a batch at most once ([store.OnceTallier])
// adds them once; another adds them twice, so the store call is not cut
// short by the caller's context, only by tallyFlushTimeout.
//
// Waiting for a flush under way ends with ctx: a reader gives up then,
// with ctx's error, and the counts go with a later flush.
func (b *tallyBook) flush(ctx context.Context) error {
	select {
	case b.flushing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-b.flushing }()
	return b.flushLocked(ctx)
}

// flushUnlessBusy flushes as flush does, unless another flush is under
// way: Tick must not wait for a flush that waits on the store (a
// dashboard's read, Run's flusher) before it sends what is due. The counts
// that flush did not take are marked dirty by whoever counted them, and
// go with the next flush.
func (b *tallyBook) flushUnlessBusy(ctx context.Context) error {
	select {
	case b.flushing <- struct{}{}:
	default:
		return nil
	}
	defer func() { <-b.flushing }()
	return b.flushLocked(ctx)
}

// flushLocked is flush, with b.flushing held.
//
// Every flush takes what the counters gained into b.unsent, so that the
// counters of past hours are dropped even while the store fails: what
// waits for the store is one count per key (follow-up, hour, kind, reason
// and rule), and none of the hours the engine's prune removes from the
// store (those that ended longer than the tally retention ago), in the
// held batch as elsewhere. The counts go in batches of at most
// tallyBatchMax keys, each a store call of its own, so that a backlog of
// any size reaches a store that takes a batch within tallyFlushTimeout. A
// flush sends one batch, then more while ctx lasts and tallyFlushTimeout
// has not passed since it began: it takes at most twice that, and what it
// leaves goes with the next flush (the book stays dirty). A batch that
// failed is held and sent again as it was, under its number, before the
// next: should the failed call have added it (its reply lost), a store
// that adds a batch at most once ([store.OnceTallier]) adds it once.
func (b *tallyBook) flushLocked(ctx context.Context) error {
	b.dirty.Store(false) // before draining: a count added meanwhile sets it again
	b.mu.Lock()
	cells := make([]*tallyCell, 0, len(b.cells))
	for _, c := range b.cells {
		cells = append(cells, c)
	}
	b.mu.Unlock()
	for _, c := range cells {
		c.drain(b.unsent)
	}
	if b.retention > 0 {
		// The held batch loses them too, and goes under its number all the
		// same: had the store added it, it would skip it whole.
		before := hourOf(b.clock.Now().Add(-b.retention))
		maps.DeleteFunc(b.unsent, func(k store.TallyKey, _ int64) bool { return k.Hour < before })
		b.held = slices.DeleteFunc(b.held, func(t store.Tally) bool { return t.Hour.Unix() < before })
	}
	deadline := time.Now().Add(tallyFlushTimeout)
	for sent := false; len(b.held) > 0 || len(b.unsent) > 0; sent = true {
		if sent && (ctx.Err() != nil || !time.Now().Before(deadline)) {
			b.markDirty()
			return nil
		}
		if len(b.held) == 0 {
			b.held = b.take(tallyBatchMax)
			b.seq++
		}
		if err := b.send(ctx, b.held); err != nil {
			// Under its number still: the store added none of it, or all.
			b.held, err = b.failed(err, b.held)
			return err
		}
		b.held = nil
	}
	return nil
}

// flushAll flushes as flush does and returns how many counts the store
// has not added yet (-1 when ctx ended before the flush could start):
// Run's last flush, and FlushTallies, which flushes until none is left.
func (b *tallyBook) flushAll(ctx context.Context) (left int64, err error) {
	select {
	case b.flushing <- struct{}{}:
	case <-ctx.Done():
		return -1, ctx.Err()
	}
	defer func() { <-b.flushing }()
	err = b.flushLocked(ctx)
	return b.waitingLocked(), err
}

// waitingLocked returns how many counts a flush took from the counters
// and did not add to the store, with b.flushing held.
func (b *tallyBook) waitingLocked() int64 {
	var n int64
	for _, c := range b.unsent {
		n += c
	}
	for i := range b.held {
		n += b.held[i].Count
	}
	return n
}

// take removes up to n keys from b.unsent and returns their tallies in
// key order, the order in which stores lock them.
func (b *tallyBook) take(n int) []store.Tally {
	keys := make([]store.TallyKey, 0, min(n, len(b.unsent)))
	for k := range b.unsent {
		if len(keys) == n {
			break
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, store.TallyKey.Compare)
	tallies := make([]store.Tally, len(keys))
	for i, k := range keys {
		tallies[i] = k.Tally(b.unsent[k])
		delete(b.unsent, k)
	}
	return tallies
}

// send adds tallies to the store, as batch b.seq of b.writer when the
// store adds a batch at most once. The call does not end with ctx: a caller giving up
// (a dashboard's reader leaving, Run stopping) after the store added the
// counts but before it answered would leave them to be added again. It
// has tallyFlushTimeout instead, which only a store that takes that long
// to answer meets; each call has the whole of it.
func (b *tallyBook) send(ctx context.Context, tallies []store.Tally) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tallyFlushTimeout)
	defer cancel()
	returned := false
	defer func() {
		if !returned {
			// The store panicked (recovered by the host, or logged on
			// the engine's own goroutines): the batch is held, as after a
			// store error, and the book is dirty, so that Run's flusher
			// tries again.
			b.markDirty()
		}
	}()
	var err error
	if b.once != nil {
		err = b.once.AddTalliesOnce(ctx, b.ns, b.writer, b.seq, tallies)
	} else {
		err = b.store.AddTallies(ctx, b.ns, tallies)
	}
	returned = true
	return err
}

// failed returns what of a batch the store did not add, failing with err,
// goes again with the next flush, and the flush's error: all of it, unless
// the store refused it as invalid ([store.ErrInvalidTally]). A batch
// refused so would be refused at every flush, holding every later count
// back: only its tallies that [store.ValidateTallies] accepts go again,
// and none if it accepts them all (the store refuses what the engine
// cannot tell); the error says how many counts were dropped. The book is
// marked dirty, so that Run's flusher tries again.
func (b *tallyBook) failed(err error, tallies []store.Tally) ([]store.Tally, error) {
	b.markDirty()
	if !errors.Is(err, store.ErrInvalidTally) {
		return tallies, fmt.Errorf("connector: flushing decision tallies: %w", err)
	}
	var (
		kept          []store.Tally
		dropped, left int64
	)
	for _, t := range tallies {
		if store.ValidateTallies([]store.Tally{t}) == nil {
			kept = append(kept, t)
			left += t.Count
		} else {
			dropped += t.Count
		}
	}
	if len(kept) == len(tallies) {
		kept, dropped, left = nil, dropped+left, 0
	}
	return kept, fmt.Errorf("connector: flushing decision tallies: the store refuses them: %d counts dropped, %d kept for the next flush: %w", dropped, left, err)
}
