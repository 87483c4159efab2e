package connector

import (
	"context"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// tracker holds one event's evaluation. Trackers are pooled: the hot path
// allocates only what it stores.
type tracker struct {
	e    *Engine
	snap *snapshot
	ev   *event.Event // points at event, below
	now  time.Time
	loc  *time.Location // the user's zone, fetched when a trigger needs it
	// locByDirectory: the directory gave loc (else it is the engine's
	// default), for the details that quote local times.
	locByDirectory bool

	event      event.Event
	triggers   []triggerRef   // matching triggers, at most one per follow-up
	audience   []bool         // per trigger: the user is in its audience
	exceptions []exceptionRef // matching exceptions
	opens      []*campaign    // campaigns whose conversion windows this receipt opens
	converts   []convertRef   // conversions this event may complete
	nested     bool           // an event the engine emits or replays (no conversions of its own)
	only       *campaign      // a backfill: this follow-up alone
	since      time.Time      // a backfill: interactions count from here instead of the activation
	tail       bool           // a backfill's tail: exceptions only, for the deliveries it scheduled

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
	// met says, per matched exception, whether it met a pending delivery
	// of its follow-up; receiptOf gives, per matched exception, the index
	// in u.Receipts of its follow-up's receipt (-1: none).
	met       []bool
	receiptOf []int32
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
	return e.prepareFor(ctx, snap, ev, now, nested, nil)
}

// prepareFor is prepare, restricted to a backfill's follow-up and pass
// when bf is not nil.
func (e *Engine) prepareFor(ctx context.Context, snap *snapshot, ev *event.Event, now time.Time, nested bool, bf *backfillPass) (*tracker, error) {
	l := snap.lookup(ev.Kind, ev.CampaignID)
	if l == nil {
		return nil, nil
	}
	return e.prepareWith(ctx, snap, l, ev, now, nested, bf)
}

// prepareWith is prepareFor with ev's listeners l already looked up.
func (e *Engine) prepareWith(ctx context.Context, snap *snapshot, l *listeners, ev *event.Event, now time.Time, nested bool, bf *backfillPass) (*tracker, error) {
	t := trackers.Get().(*tracker)
	t.reset(e, snap, ev, now, nested)
	t.only, t.since, t.tail = nil, time.Time{}, false
	if bf != nil {
		t.only, t.since, t.tail = bf.c, bf.since, bf.tail
	}
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
	t.e, t.snap, t.now, t.nested, t.loc, t.locByDirectory = e, snap, now, nested, e.cfg.location, false
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
		if t.tail {
			break // counted as they were tracked, after the activation
		}
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
		loc, byDirectory, err := e.location(ctx, user)
		if err != nil {
			return err
		}
		t.loc, t.locByDirectory = loc, byDirectory
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
		openWindows(u, c, t.ev.Time, t.now, t.ev.Kind == event.ControlGroupEnrolled)
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
