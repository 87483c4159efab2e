package connector

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/errlist"
	"github.com/campaignconnector/campaignconnector/store"
)

// TrackError reports an event [Engine.TrackAll] did not track.
type TrackError struct {
	Index int   // the event's index in the slice given to TrackAll
	Err   error // what Track would have returned for it
}

// Error returns the event's index and its error.
func (e *TrackError) Error() string { return fmt.Sprintf("connector: event %d: %v", e.Index, e.Err) }

// Unwrap returns the event's error.
func (e *TrackError) Unwrap() error { return e.Err }

// TrackErrors returns the [*TrackError] values that err holds, in order:
// err is what [Engine.TrackAll] returned, or an error wrapping it (with %w
// or errors.Join). For TrackAll's own error that is one per event not
// tracked, by increasing index. It returns nil when err is nil or holds
// none.
func TrackErrors(err error) []*TrackError {
	var out []*TrackError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *TrackError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// trackChunk is how many events TrackAll hands the store at once: enough
// for a batch to overlap its users' cache misses (the memory store groups
// them by shard: about 16 users a lock), few enough for their trackers to
// stay in cache.
const trackChunk = 1024

// TrackAll tracks events as Track would track each of them in turn, for
// less: a host that receives events in batches (a provider's webhook
// posting several, a queue consumer) should hand them over together. It
// checks the campaigns' revision once per call (per 1,024 events), logs
// the interactions of a batch with one store call, and, with a store that
// implements [store.BatchUpdater], applies the updates in one call too. Each event is validated, stamped
// with the clock when it has no time, deduplicated and evaluated as Track
// does; the events of one user are applied in slice order, those of
// different users in any order. events is not modified.
//
// It returns nil when every event was tracked; otherwise the events that
// could be were, and the error joins a [*TrackError] for each that was not,
// in index order ([TrackErrors] lists them, errors.As finds the first;
// each wraps what Track would have returned). Its text gives the first ten
// and how many more there are. A store failure (an
// update's, the interaction log's, the campaigns' revision look-up's) also
// fails the later events of the users whose events it failed, untried,
// with the same error: tracking the failed events again then applies each
// user's events in slice order. Untried are the events that update the
// user's state (those a follow-up listens to) or remember their ID
// ([WithDedupAll]); the others are tracked all the same. A failure of the
// [Directory] fails only its event. With [WithInstrumentation] set,
// TrackAll calls Track for each event, so that each has its own span
// (a store failure still fails the user's later events), unless the
// instrumentation is a [BatchInstrumentation].
func (e *Engine) TrackAll(ctx context.Context, events []event.Event) error {
	if ctx == nil {
		return errNilContext("TrackAll")
	}
	if bi, ok := e.cfg.instrument.(BatchInstrumentation); ok {
		ctx, end := bi.StartTrackAll(ctx, events)
		ended := false
		defer func() {
			if !ended { // a panic goes on
				end(errPanicked)
			}
		}()
		err := e.trackAll(ctx, events)
		ended = true
		end(err)
		return err
	}
	var errs []error
	if in := e.cfg.instrument; in != nil {
		var failed failures // kept across the events, as trackAll does
		for i := range events {
			if err := e.trackSpan(ctx, in, events[i], &failed); err != nil {
				errs = append(errs, &TrackError{Index: i, Err: err})
			}
		}
		return errlist.Join(errs...)
	}
	return e.trackAll(ctx, events)
}

// trackAll is TrackAll without instrumentation.
func (e *Engine) trackAll(ctx context.Context, events []event.Event) error {
	var errs []error
	b := trackBatches.Get().(*trackBatch)
	b.failed = nil
	for start := 0; start < len(events); start += trackChunk {
		errs = e.trackBatch(ctx, b, events[start:min(len(events), start+trackChunk)], start, errs)
	}
	b.release()
	return errlist.Join(errs...)
}

// trackBatch is TrackAll for at most trackChunk events, the first of which
// has index base; it appends what failed to errs.
func (e *Engine) trackBatch(ctx context.Context, b *trackBatch, events []event.Event, base int, errs []error) []error {
	fail := func(i int, err error) { errs = append(errs, &TrackError{Index: base + i, Err: err}) }
	from := len(errs)
	defer func() { sortErrors(errs[from:]) }()
	b.reset()
	for i := range events {
		if err := events[i].Validate(); err != nil {
			fail(i, err)
			continue
		}
		if err := e.cfg.limits.Check(events[i]); err != nil {
			fail(i, err)
			continue
		}
		b.valid = append(b.valid, i)
	}
	if len(b.valid) == 0 {
		return errs
	}
	snap, err := e.current(ctx)
	if err != nil {
		err = fmt.Errorf("connector: track: %w", err)
		for _, i := range b.valid {
			fail(i, err)
			b.failed.note(events[i].UserID, err)
		}
		return errs
	}
	logged := e.cfg.interactionLog > 0
	unheard := 0 // events staging finished with, naming no unknown campaign
	for _, i := range b.valid {
		ev := events[i]
		var op store.Op
		t, seen, ok, err := e.stage(ctx, snap, &ev, &op)
		if !ok {
			if snap.unknownCampaign(&ev) {
				b.done = append(b.done, batchDone{index: i, k: doneUnknown}) // counted when completed
			} else {
				unheard++
			}
			continue
		}
		if earlier := b.failed.of(ev.UserID); err == nil && op.Fn != nil && earlier != nil {
			// Not tried, nor logged (its retry logs it): an earlier event
			// of the user failed (failures).
			releaseStaged(t, seen)
			b.done = append(b.done, batchDone{index: i, k: doneUntried, err: earlier})
			continue
		}
		if logged {
			b.logged = append(b.logged, ev)
			b.logUntil = op.Now.Add(e.cfg.interactionLog)
		}
		switch {
		case err != nil:
			b.done = append(b.done, batchDone{index: i, k: doneFailed, err: err})
		case op.Fn == nil:
			b.done = append(b.done, batchDone{index: i, k: doneLogged, now: op.Now}) // logged, nothing to store
		default:
			b.done = append(b.done, batchDone{index: i, k: len(b.ops)})
			b.ops, b.trackers, b.seen = append(b.ops, op), append(b.trackers, t), append(b.seen, seen)
		}
	}
	if unheard > 0 {
		e.counts.unheard.add(byte(base), int64(unheard))
	}
	if logged && len(b.logged) > 0 {
		if err := e.store.AppendInteractions(ctx, e.cfg.namespace, b.logged, b.logUntil); err != nil {
			// Nothing was stored: every event that got this far fails.
			// (No event is doneUnknown here: with the log, staging
			// finishes with no event.)
			err = fmt.Errorf("connector: track: logging the interaction: %w", err)
			for _, d := range b.done {
				if d.k == doneUntried {
					fail(d.index, d.err) // with the failure that left it untried
					continue
				}
				fail(d.index, err)
				b.failed.note(events[d.index].UserID, err)
			}
			return errs
		}
	}
	e.applyOps(ctx, b.ops)
	// The observers get the decisions in the batch's order (one user's in
	// the order of their events), the store's work done.
	for _, d := range b.done {
		switch d.k {
		case doneFailed, doneUntried:
			fail(d.index, d.err)
		case doneUnknown:
			ev := events[d.index]
			e.ignoreUnknown(snap, &ev, time.Time{})
		case doneLogged:
			ev := stamped(events[d.index], d.now)
			e.tracked(snap, &ev, nil, nil, d.now)
		default:
			op := &b.ops[d.k]
			if op.Err != nil {
				err := fmt.Errorf("connector: track: %w", op.Err)
				fail(d.index, err)
				b.failed.note(op.UserID, err)
				continue
			}
			if t := b.trackers[d.k]; t != nil {
				e.tracked(snap, t.ev, t, nil, op.Now)
				continue
			}
			ev := stamped(events[d.index], op.Now)
			e.tracked(snap, &ev, nil, b.seen[d.k], op.Now)
		}
	}
	if n := len(b.ops); n > 0 {
		e.watchTicks(ctx, b.ops[n-1].Now)
	}
	return errs
}

// stamped returns ev as staging stamped it, at now.
func stamped(ev event.Event, now time.Time) event.Event {
	if ev.Time.IsZero() {
		ev.Time = now
	}
	return ev
}

// sortErrors puts TrackErrors in index order (validation failures come
// first, store failures last).
func sortErrors(errs []error) {
	slices.SortStableFunc(errs, func(a, b error) int {
		return cmp.Compare(a.(*TrackError).Index, b.(*TrackError).Index)
	})
}

// applyOps applies ops with the store, in one call if it takes batches.
// Otherwise it applies them one by one, and a failed op fails the later
// ops of its user untried, with its error, as a batch's failed
// transaction does (see failures).
func (e *Engine) applyOps(ctx context.Context, ops []store.Op) {
	if len(ops) == 0 {
		return
	}
	if bu, ok := e.store.(store.BatchUpdater); ok {
		// Each op's Err says, except from a store that returns an error
		// and marks no op failed, against the interface's contract: then
		// no op is known to be applied, and each is taken as failed. An
		// op that did apply is then tried again or reported as failed, as
		// after a store call whose answer was lost; one taken as applied
		// that was not would be lost (a send with no stored check, an
		// event reported as tracked).
		if err := bu.UpdateBatch(ctx, e.cfg.namespace, ops); err != nil && !anyFailed(ops) {
			for k := range ops {
				ops[k].Err = err
			}
		}
		return
	}
	var failed failures // users whose update failed: their later ops are not tried
	for k := range ops {
		op := &ops[k]
		if err := failed.of(op.UserID); err != nil {
			op.Err = err
			continue
		}
		op.Err = e.store.Update(ctx, e.cfg.namespace, op.UserID, op.Now, op.Dedup, op.Fn)
		if op.Err != nil {
			failed.note(op.UserID, op.Err)
		}
	}
}

// anyFailed reports whether an op of ops has its Err set.
func anyFailed(ops []store.Op) bool {
	return slices.ContainsFunc(ops, func(op store.Op) bool { return op.Err != nil })
}

// batchDone is what remains to do for an event of a batch once the store
// has the batch: report it as naming an unknown campaign (k doneUnknown),
// complete it as only logged (doneLogged, stamped with now), fail it with
// err (doneFailed: staging failed, but the event is logged, and a failure
// to log it is its error, as with Track; doneUntried: an earlier event of
// its user failed, and it is neither logged nor tried), or complete
// ops[k].
type batchDone struct {
	index int // the event's
	k     int
	now   time.Time
	err   error
}

const (
	doneUnknown = -1
	doneLogged  = -2
	doneFailed  = -3
	doneUntried = -4
)

// trackBatch is TrackAll's scratch, reused from call to call.
type trackBatch struct {
	valid    []int         // indexes of the valid events
	logged   []event.Event // the interactions to log
	logUntil time.Time
	done     []batchDone // in the events' order
	ops      []store.Op
	trackers []*tracker // ops[k] applies trackers[k] (nil: only remembers the ID)
	seen     []*seenID  // or seen[k], which only remembers the ID (WithDedupAll)
	// failed maps the users a store failure failed an event of, in an
	// earlier chunk of the call, to the event's error: their later events
	// are not tried, and fail with it (nil: none).
	failed failures
}

// failures maps the users a store failure failed an event of, within one
// TrackAll call, to the error: the user's later events in the call that
// have something to store are not tried, and fail with it too, so that
// the events of one user are applied in slice order also when the host
// tracks the failed ones again. (Applied, an exception after a failed
// trigger would find nothing to cancel, and the trigger tracked again
// would schedule what the exception should have cancelled.) Within a
// chunk, the store's transaction fails whole, and applyOps fails a user's
// later ops for a store without batches; only a value PostgreSQL refuses
// fails one op alone, which fails again when tracked again.
type failures map[string]error

// note records that a store failure failed an event of user with err;
// the first failure is kept. A nil f (Track's) records nothing.
func (f *failures) note(user string, err error) {
	if f == nil {
		return
	}
	if _, ok := (*f)[user]; ok {
		return
	}
	if *f == nil {
		*f = make(failures)
	}
	(*f)[user] = err
}

// of returns the failure recorded for user, nil if none (or f is nil).
func (f *failures) of(user string) error {
	if f == nil {
		return nil
	}
	return (*f)[user]
}

var trackBatches = sync.Pool{New: func() any { return new(trackBatch) }}

// reset releases the trackers of the last chunk and empties the lists.
func (b *trackBatch) reset() {
	for k, t := range b.trackers {
		if t != nil {
			t.release()
		}
		b.trackers[k] = nil
	}
	clear(b.logged)
	clear(b.ops)
	clear(b.done)
	for _, s := range b.seen {
		s.release()
	}
	clear(b.seen)
	b.valid, b.logged, b.done, b.ops, b.trackers, b.seen = b.valid[:0], b.logged[:0], b.done[:0], b.ops[:0], b.trackers[:0], b.seen[:0]
}

func (b *trackBatch) release() {
	b.reset()
	b.failed = nil
	trackBatches.Put(b)
}
