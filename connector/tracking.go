package connector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Track evaluates one event: it rejects bad input with a typed error and
// no state change, ignores an event ID already processed for this user,
// cancels the user's pending deliveries whose exceptions the event matches
// while the user waits, schedules the follow-ups it triggers, and opens or
// converts conversion windows, recording a decision for each. Nothing is
// sent inside Track: deliveries due at once go out on the next Tick
// (within milliseconds under Run).
//
// An event with a zero Time happened now. An event that nothing listens to
// costs a table look-up or two and leaves no trace but a count
// ([Engine.EventCounts]):
// by default its ID is not remembered. A retry of it is then processed
// again; that only matters if a follow-up listening to it was published in
// between, and then only for an event without a Time (one with a Time,
// stamped before the follow-up's activation, is suppressed).
// [WithDedupAll] remembers every ID. An event naming a campaign the engine
// does not know is well formed (Track returns nil) but most likely a typo:
// it is handed to the observers as a [rule.Ignored] decision with reason
// [rule.ReasonUnknownCampaign].
//
// The host's [Directory] is asked, before any state changes, for the
// user's zone and audience membership when a matching campaign needs them.
//
// Errors: a [*event.ValidationError] (joined with others) for invalid
// events, wrapping [event.ErrUnknownKind] or [event.ErrTooLarge] where they
// apply; the store's or the directory's error, wrapped, when they fail.
// After a failure the host may retry: nothing changed, or, when the
// store lost its connection while committing (see the store's
// documentation), the event may have been stored, and its retry, by its
// event ID, is then a duplicate (within the dedup window).
func (e *Engine) Track(ctx context.Context, ev event.Event) error {
	if ctx == nil {
		return errNilContext("Track")
	}
	if in := e.cfg.instrument; in != nil {
		return e.trackSpan(ctx, in, ev, nil)
	}
	return e.track(ctx, ev, nil)
}

// errPanicked ends the instrumentation of a Track or TrackAll that
// panicked, before the panic goes on to the caller.
var errPanicked = errors.New("connector: panicked (in an observer, the directory or the store)")

// track is Track without instrumentation. (Kept apart so that its one
// defer is open-coded: a function with many returns and two defers pays
// for a deferral record on every call.) failed, set when TrackAll calls
// it for each event of a batch, notes the users a store failure failed
// an event of, and fails their later events that have something to store
// untried, with that failure, as trackBatch does.
func (e *Engine) track(ctx context.Context, ev event.Event, failed *failures) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	if err := e.cfg.limits.Check(ev); err != nil {
		return err
	}
	snap, err := e.current(ctx)
	if err != nil {
		err = fmt.Errorf("connector: track: %w", err)
		failed.note(ev.UserID, err)
		return err
	}
	var op store.Op
	t, seen, ok, err := e.stage(ctx, snap, &ev, &op)
	if !ok {
		e.heardByNone(snap, &ev, time.Time{})
		return nil
	}
	if t != nil || seen != nil {
		defer releaseStaged(t, seen)
	}
	if e.cfg.interactionLog > 0 {
		if err := e.store.AppendInteractions(ctx, e.cfg.namespace, []event.Event{ev}, op.Now.Add(e.cfg.interactionLog)); err != nil {
			err = fmt.Errorf("connector: track: logging the interaction: %w", err)
			failed.note(ev.UserID, err)
			return err
		}
	}
	if err != nil {
		return err
	}
	if op.Fn != nil {
		if err := failed.of(ev.UserID); err != nil {
			return err // not tried: an earlier event of the user failed
		}
		if err := e.store.Update(ctx, e.cfg.namespace, op.UserID, op.Now, op.Dedup, op.Fn); err != nil {
			err = fmt.Errorf("connector: track: %w", err)
			failed.note(ev.UserID, err)
			return err
		}
	}
	e.tracked(snap, &ev, t, seen, op.Now)
	e.watchTicks(ctx, op.Now)
	return nil
}

// tracked completes an event that staging did not finish with, once the
// store has it: it counts the event, hands the decisions of its tracker t
// (nil: it reached no follow-up) to the observers, and reports it when it
// names an unknown campaign (each time it arrives, as a typo in the host's
// metadata is). seen, set when only its ID was to be remembered, says
// whether the store had the ID already: a retry, counted as a duplicate.
func (e *Engine) tracked(snap *snapshot, ev *event.Event, t *tracker, seen *seenID, now time.Time) {
	if t != nil {
		e.counts.listened.Add(1)
		e.afterUpdate(t)
		return
	}
	if seen != nil && seen.dup {
		e.counts.duplicates.Add(1)
	}
	e.heardByNone(snap, ev, now)
}

// heardByNone counts ev, tracked and heard by no follow-up, where it
// ends: as naming an unknown campaign (reported), or as unheard.
func (e *Engine) heardByNone(snap *snapshot, ev *event.Event, now time.Time) {
	if snap.unknownCampaign(ev) {
		e.ignoreUnknown(snap, ev, now)
	} else {
		e.countUnheard(ev.UserID)
	}
}

// unknownCampaign reports whether ev names a campaign s does not know, in
// any state.
func (s *snapshot) unknownCampaign(ev *event.Event) bool {
	if ev.CampaignID == "" {
		return false
	}
	return s.campaign(ev.CampaignID) == nil
}

// ignoreUnknown counts ev, which names a campaign snap does not know, notes
// the ID among the unknown ones, and hands the
// observers an ignored decision about it. The user's decision log does not
// keep it: writing it would cost a store write for an event the engine
// cannot use, and state for users it has no business with.
func (e *Engine) ignoreUnknown(snap *snapshot, ev *event.Event, now time.Time) {
	if now.IsZero() {
		now = e.cfg.clock.Now()
	}
	e.counts.ignored[ignoredUnknownCampaign].Add(1)
	e.unknown.note(ev.CampaignID, now, snap.knows)
	e.tallyUnknownCampaign(now)
	if len(e.cfg.observers) == 0 {
		return
	}
	at := ev.Time
	if at.IsZero() {
		at = now
	}
	e.observe(rule.Decision{
		Kind: rule.Ignored, Reason: rule.ReasonUnknownCampaign, CampaignID: ev.CampaignID,
		UserID: ev.UserID, EventID: ev.ID, EventKind: ev.Kind, EventTime: at, At: now,
		Detail: fmt.Sprintf("no campaign %q in namespace %q: a typo, or a campaign to save", ev.CampaignID, e.cfg.namespace),
	})
}

// stage readies a valid event for the store, with snap's campaigns. ok is
// false when there is nothing to do: nothing listens to ev, logs or
// remembers it (the clock is not even read; the caller reports an event
// naming an unknown campaign, with ignoreUnknown). Otherwise ev is
// stamped with the clock's now when it has no time; t is its prepared
// tracker (nil when it matches nothing) and op the update to make, whose
// Fn is nil when ev is only to be logged; seen, when the update only
// remembers ev's ID (WithDedupAll), says after it whether the store had
// the ID already. err is the directory's when preparing failed (ev is
// stamped all the same: it is still logged). op is written in place
// rather than returned: returning an Op (over a hundred bytes) would copy
// it on every Track.
func (e *Engine) stage(ctx context.Context, snap *snapshot, ev *event.Event, op *store.Op) (t *tracker, seen *seenID, ok bool, err error) {
	l := snap.lookup(ev.Kind, ev.CampaignID)
	if l == nil && e.cfg.interactionLog == 0 && (!e.cfg.dedupAll || ev.ID == "") {
		return nil, nil, false, nil
	}
	now := e.cfg.clock.Now()
	if ev.Time.IsZero() {
		ev.Time = now
	}
	op.UserID, op.Now = ev.UserID, now
	if l != nil {
		if t, err = e.prepareWith(ctx, snap, l, ev, now, false, nil, time.Time{}); err != nil {
			return nil, nil, true, err
		}
	}
	if ev.ID != "" {
		op.Dedup = store.Dedup{EventID: ev.ID, KeepUntil: now.Add(e.cfg.dedupWindow)}
	}
	switch {
	case t != nil:
		op.Fn = t.apply
	case e.cfg.dedupAll && ev.ID != "":
		// Remember the ID: a follow-up published before the provider's
		// retry arrives must see the retry as a duplicate.
		seen = seenIDs.Get().(*seenID)
		op.Fn = seen.fn
	}
	return t, seen, true, nil
}

// releaseStaged returns what staging took from the pools (t or seen may
// be nil).
func releaseStaged(t *tracker, seen *seenID) {
	if t != nil {
		t.release()
	}
	seen.release()
}

// seenID is the update of an event whose ID is only remembered: it notes
// whether the store had the ID already. Pooled, with its update bound
// once, so that remembering an ID allocates nothing.
type seenID struct {
	dup bool
	fn  func(*store.UserState, bool)
}

var seenIDs = sync.Pool{New: func() any {
	s := &seenID{}
	s.fn = s.update
	return s
}}

func (s *seenID) update(_ *store.UserState, duplicate bool) { s.dup = duplicate }

// release returns s to the pool; nil is a no-op.
func (s *seenID) release() {
	if s != nil {
		s.dup = false
		seenIDs.Put(s)
	}
}

// afterUpdate counts what a tracker's update ignored, hands its decisions
// to the observers and wakes Run if it scheduled something earlier than
// Run's timer.
func (e *Engine) afterUpdate(t *tracker) {
	e.tally(t.marks, t.now, t.ev.UserID)
	if t.duplicate {
		e.counts.duplicates.Add(1)
	}
	for i, n := range t.ignored {
		if n > 0 {
			e.counts.ignored[i].Add(int64(n))
		}
	}
	e.observeAll(t.decisions)
	if t.scheduled && t.earliest < e.armed.Load() {
		e.signal()
	}
}

// tracker holds one event's evaluation. Trackers are pooled: the hot path
// allocates only what it stores.
type tracker struct {
	e    *Engine
	snap *snapshot
	ev   *event.Event // points at event, below
	now  time.Time
	loc  *time.Location // the user's zone, fetched when a trigger needs it

	event      event.Event
	triggers   []triggerRef   // matching triggers, at most one per follow-up
	audience   []bool         // per trigger: the user is in its audience
	exceptions []exceptionRef // matching exceptions
	opens      []*campaign    // campaigns whose conversion windows this receipt opens
	converts   []convertRef   // conversions this event may complete
	nested     bool           // an event the engine emits or replays (no conversions of its own)
	only       *campaign      // a backfill: this follow-up alone
	since      time.Time      // a backfill: interactions count from here instead of the activation

	decisions []rule.Decision
	marks     tallyMarks // the decisions to count (tallies.go)
	scheduled bool
	earliest  int64 // smallest ReadyAt scheduled, Unix ns
	duplicate bool  // the store had the event's ID already
	// ignored counts the ignored decisions (taken whether or not someone
	// observes them), indexed like eventCounters.ignored.
	ignored [len(ignoredReasons)]int32
	apply   func(u *store.UserState, duplicate bool)

	// triggerAt, exceptionAt and convertAt map a campaign ID to its first
	// matched ref when the lists are long (nil: they are scanned).
	triggerAt, exceptionAt, convertAt map[string]int32
	// groups holds the user's deliveries and receipts by trigger.
	groups pendingGroups
	// converted holds, per conversion, the index in u.Conversions of the
	// window it completes (-1: none); closed, per window, whether this
	// event completes it.
	converted []int32
	closed    []bool
}

// convertRef is a conversion the event matches, with the prepared tracker
// of the conversion_performed event it would emit (nil: nothing listens).
type convertRef struct {
	c      *campaign
	cv     *rule.Conversion
	emit   *tracker
	emitEv event.Event
}

var trackers = sync.Pool{New: func() any {
	t := &tracker{}
	t.apply = t.applyTop // bound once per pooled tracker, not per event
	return t
}}

// prepare matches ev against the snapshot and asks the directory what the
// matching campaigns need to know, outside any lock. It returns nil when
// nothing listens to ev. nested trackers (for events the engine emits) do
// not look at conversions.
func (e *Engine) prepare(ctx context.Context, snap *snapshot, ev *event.Event, now time.Time, nested bool) (*tracker, error) {
	return e.prepareFor(ctx, snap, ev, now, nested, nil, time.Time{})
}

// prepareFor is prepare, restricted to follow-up only (when not nil) with
// interactions counting from since: a backfill.
func (e *Engine) prepareFor(ctx context.Context, snap *snapshot, ev *event.Event, now time.Time, nested bool, only *campaign, since time.Time) (*tracker, error) {
	l := snap.lookup(ev.Kind, ev.CampaignID)
	if l == nil {
		return nil, nil
	}
	return e.prepareWith(ctx, snap, l, ev, now, nested, only, since)
}

// prepareWith is prepareFor with ev's listeners l already looked up.
func (e *Engine) prepareWith(ctx context.Context, snap *snapshot, l *listeners, ev *event.Event, now time.Time, nested bool, only *campaign, since time.Time) (*tracker, error) {
	t := trackers.Get().(*tracker)
	t.reset(e, snap, ev, now, nested)
	t.only, t.since = only, since
	if !t.match(l) {
		t.release()
		return nil, nil
	}
	if err := t.fetch(ctx); err != nil {
		t.release()
		return nil, err
	}
	return t, nil
}

func (t *tracker) reset(e *Engine, snap *snapshot, ev *event.Event, now time.Time, nested bool) {
	if t.snap != snap {
		// Entries past the lists' ends are left from earlier events and
		// point into the snapshot t last worked with: let it go.
		clear(t.triggers[:cap(t.triggers)])
		clear(t.exceptions[:cap(t.exceptions)])
		clear(t.opens[:cap(t.opens)])
		clear(t.converts[:cap(t.converts)])
	}
	t.e, t.snap, t.now, t.nested, t.loc = e, snap, now, nested, e.cfg.location
	t.event = *ev
	t.ev = &t.event
	t.triggers, t.audience, t.exceptions = t.triggers[:0], t.audience[:0], t.exceptions[:0]
	t.opens, t.converts, t.decisions = t.opens[:0], t.converts[:0], t.decisions[:0]
	t.triggerAt, t.exceptionAt, t.convertAt = nil, nil, nil
}

func (t *tracker) release() {
	for _, c := range t.converts {
		if c.emit != nil {
			c.emit.release()
		}
	}
	// What holds the user's data is cleared. The matching lists are not:
	// they point into the snapshot, which the pooled tracker keeps until
	// reset sees another one (or the pool drops it, after two collections
	// without use): clearing them costs more than the rest of release.
	clear(t.decisions)
	t.e, t.ev, t.loc, t.event, t.only = nil, nil, nil, event.Event{}, nil
	t.triggerAt, t.exceptionAt, t.convertAt = nil, nil, nil
	trackers.Put(t)
}

// match keeps the triggers, exceptions and conversions the event satisfies
// and reports whether there is any. It keeps one trigger and one
// exception per follow-up, the first that matches: [campaign.listen] adds
// a campaign's entries under a key one after the other, so those of one
// follow-up are next to each other in the listeners, and in what match
// keeps.
func (t *tracker) match(l *listeners) bool {
	for _, r := range l.triggers {
		if (t.only == nil || r.c == t.only) && r.t.Matches(t.ev) && !t.lastTrigger(r.c) {
			t.triggers = append(t.triggers, r)
		}
	}
	for _, r := range l.exceptions {
		if (t.only == nil || r.c == t.only) && r.x.Matches(t.ev) && !t.lastException(r.c) {
			t.exceptions = append(t.exceptions, r)
		}
	}
	for _, c := range l.opens {
		if t.only == nil && t.e.originCounts(c) {
			t.opens = append(t.opens, c)
		}
	}
	if !t.nested {
		for _, r := range l.converts {
			if r.cv.Matches(t.ev) && t.e.originCounts(r.c) {
				t.converts = append(t.converts, r)
			}
		}
	}
	if len(t.triggers) == 0 && len(t.exceptions) == 0 && len(t.opens) == 0 && len(t.converts) == 0 {
		return false
	}
	t.indexRefs()
	return true
}

// lastTrigger reports whether the trigger match kept last is c's.
func (t *tracker) lastTrigger(c *campaign) bool {
	return len(t.triggers) > 0 && t.triggers[len(t.triggers)-1].c == c
}

// lastException reports whether the exception match kept last is c's.
func (t *tracker) lastException(c *campaign) bool {
	return len(t.exceptions) > 0 && t.exceptions[len(t.exceptions)-1].c == c
}

// fetch asks the directory for the user's zone and audience membership
// where matching triggers need them, and prepares the trackers of the
// conversion events this event may emit.
func (t *tracker) fetch(ctx context.Context) error {
	e, user := t.e, t.ev.UserID
	needLoc := false
	for _, r := range t.triggers {
		needLoc = needLoc || needsLocation(&r.c.Campaign)
		in := true
		if seg := r.c.Campaign.Audience; seg != "" {
			var err error
			if in, err = e.inSegment(ctx, user, seg); err != nil {
				return err
			}
		}
		t.audience = append(t.audience, in)
	}
	if needLoc {
		loc, err := e.location(ctx, user)
		if err != nil {
			return err
		}
		t.loc = loc
	}
	for i := range t.converts {
		r := &t.converts[i]
		r.emitEv = event.Event{
			ID:     "conversion:" + r.c.Campaign.ID + ":" + r.cv.ID + ":" + t.ev.ID + ":" + t.ev.Time.UTC().Format(time.RFC3339Nano),
			UserID: user, Kind: event.ConversionPerformed, CampaignID: r.c.Campaign.ID, Target: r.cv.ID, Time: t.ev.Time,
		}
		emit, err := e.prepare(ctx, t.snap, &r.emitEv, t.now, true)
		if err != nil {
			return err
		}
		r.emit = emit
	}
	return nil
}

// applyTop is the atomic part of Track, run by the store under the user's
// lock. It must be deterministic: a SQL store may run it twice.
func (t *tracker) applyTop(u *store.UserState, duplicate bool) {
	t.update(u, duplicate)
	if t.only != nil {
		for i := range t.decisions {
			t.decisions[i].Backfilled = true
		}
	}
	t.e.appendLog(u, t.now, t.decisions...)
}

// update applies the event to the user's state, collecting decisions (its
// own and those of the events it makes the engine emit).
func (t *tracker) update(u *store.UserState, duplicate bool) {
	clear(t.decisions) // an earlier attempt's (the store may run fn again)
	t.decisions = t.decisions[:0]
	t.marks.reset()
	t.scheduled, t.earliest, t.duplicate, t.ignored = false, maxInt64, duplicate, [len(ignoredReasons)]int32{}
	if duplicate {
		t.markDuplicates()
		if t.e.observed {
			t.duplicates()
		}
		return
	}
	if !t.nested {
		t.dropStale(u)
	}
	t.cancelByExceptions(u)
	if len(t.triggers) > 0 {
		t.groupPending(u)
		for i, r := range t.triggers {
			t.evaluate(u, i, r, t.audience[i])
		}
		t.groups.removeReplaced(u)
	}
	for _, c := range t.opens {
		openWindows(u, c, t.ev.Time, t.now)
	}
	if len(t.converts) > 0 {
		t.convertAll(u)
	}
}

// merge adds what a nested tracker decided to t's outcome.
func (t *tracker) merge(n *tracker) {
	t.decisions = append(t.decisions, n.decisions...)
	t.marks = append(t.marks, n.marks...)
	for i, k := range n.ignored {
		t.ignored[i] += k
	}
	if n.scheduled {
		t.scheduled = true
		t.earliest = min(t.earliest, n.earliest)
	}
}

func (t *tracker) decision(kind rule.DecisionKind, reason rule.Reason, c *campaign) rule.Decision {
	return rule.Decision{
		Kind: kind, Reason: reason, CampaignID: c.Campaign.ID, UserID: t.ev.UserID,
		EventID: t.ev.ID, EventKind: t.ev.Kind, EventTime: t.ev.Time, At: t.now,
	}
}

// duplicates records one decision per follow-up the event concerns.
func (t *tracker) duplicates() {
	for _, r := range t.triggers {
		t.decisions = append(t.decisions, t.decision(rule.Duplicate, rule.ReasonDuplicateEvent, r.c))
	}
	for _, r := range t.exceptions {
		if t.triggerOf(r.c.Campaign.ID) < 0 {
			t.decisions = append(t.decisions, t.decision(rule.Duplicate, rule.ReasonDuplicateEvent, r.c))
		}
	}
}

// dropStale cancels deliveries left from an earlier activation of their
// follow-up (another engine stopped it and CancelCampaign has not reached
// them yet, or it was resumed since), in one pass, except those being
// sent. A user's deliveries
// often come in runs of one follow-up: each run looks it up once.
func (t *tracker) dropStale(u *store.UserState) {
	var last *campaign
	u.RemovePendingFunc(func(p *store.Pending) bool {
		if last == nil || last.Campaign.ID != p.CampaignID {
			if last = t.campaign(p.CampaignID); last == nil {
				return false
			}
		}
		if p.Sending || !staleFor(last, p) {
			// One being sent is left to its send: the sender may accept
			// it. If it fails, or its engine died, the next last check
			// finds it stale and cancels it.
			return false
		}
		t.marks.add(t.e, last, p.CampaignID, tcCancelledStopped, "")
		if t.e.observed {
			t.decisions = append(t.decisions, pendingDecision(rule.Cancelled, rule.ReasonCampaignStopped, p, t.now))
		}
		return true
	})
}

// campaign returns the snapshot's follow-up with ID id, or nil. The
// follow-ups the event matched are looked at first when they are few: a
// user's pending deliveries are most often theirs, and comparing a few
// short strings costs less than hashing one.
func (t *tracker) campaign(id string) *campaign {
	if len(t.exceptions) <= fewRefs {
		for _, r := range t.exceptions {
			if r.c.Campaign.ID == id {
				return r.c
			}
		}
	}
	if len(t.triggers) <= fewRefs {
		for _, r := range t.triggers {
			if r.c.Campaign.ID == id {
				return r.c
			}
		}
	}
	return t.snap.campaign(id)
}
