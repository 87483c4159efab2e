package connector

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Track evaluates one event (SPEC.md R11): it rejects bad input with a
// typed error and no state change, ignores an event ID already processed
// for this user, cancels the user's pending deliveries whose exceptions the
// event matches (R6), then schedules the follow-ups it triggers (R3, R4,
// R7, R8, R9), recording a decision for each. Nothing is sent inside Track:
// deliveries due at once go out on the next Tick (within milliseconds under
// Run).
//
// An event with a zero Time happened now. An event that no active
// follow-up listens to costs a map look-up and leaves no trace (its ID is
// not remembered either: processing it twice could change nothing).
//
// Errors: a [*event.ValidationError] (joined with others) for invalid
// events, wrapping [event.ErrUnknownKind] or [event.ErrTooLarge] where they
// apply; the store's error, wrapped, when it fails (nothing changed: the
// host may retry).
func (e *Engine) Track(ctx context.Context, ev event.Event) (err error) {
	if in := e.cfg.instrument; in != nil {
		var end func(error)
		ctx, end = in.StartTrack(ctx, ev)
		defer func() { end(err) }()
	}
	if err := ev.Validate(); err != nil {
		return err
	}
	if err := e.cfg.limits.Check(ev); err != nil {
		return err
	}
	now := e.cfg.clock.Now()
	if ev.Time.IsZero() {
		ev.Time = now
	}
	snap, err := e.current(ctx)
	if err != nil {
		return fmt.Errorf("connector: track: %w", err)
	}
	l := snap.byKey[indexKey{ev.Kind, ev.CampaignID}]
	if l == nil {
		return nil
	}
	t := trackers.Get().(*tracker)
	defer t.release()
	t.reset(e, snap, ev, now)
	if !t.match(l) {
		return nil
	}
	dedup := store.Dedup{}
	if ev.ID != "" {
		dedup = store.Dedup{EventID: ev.ID, KeepUntil: now.Add(e.cfg.dedupWindow)}
	}
	if err := e.store.Update(ctx, e.cfg.namespace, ev.UserID, now, dedup, t.apply); err != nil {
		return fmt.Errorf("connector: track: %w", err)
	}
	e.observeAll(t.decisions)
	if t.scheduled && t.earliest < e.armed.Load() {
		e.signal()
	}
	return nil
}

// tracker holds one Track call's work. Trackers are pooled: the hot path
// allocates only what it stores.
type tracker struct {
	e    *Engine
	snap *snapshot
	ev   *event.Event // points at event, below
	now  time.Time

	event      event.Event
	triggers   []triggerRef   // matching triggers, at most one per follow-up
	exceptions []exceptionRef // matching exceptions
	decisions  []rule.Decision
	scheduled  bool
	earliest   int64 // smallest ReadyAt scheduled, Unix ns
	apply      func(u *store.UserState, duplicate bool)
}

var trackers = sync.Pool{New: func() any {
	t := &tracker{}
	t.apply = t.update // bound once per pooled tracker, not per event
	return t
}}

func (t *tracker) reset(e *Engine, snap *snapshot, ev event.Event, now time.Time) {
	t.e, t.snap, t.now = e, snap, now
	t.event = ev
	t.ev = &t.event
	t.triggers, t.exceptions, t.decisions = t.triggers[:0], t.exceptions[:0], t.decisions[:0]
}

func (t *tracker) release() {
	clear(t.triggers[:cap(t.triggers)])
	clear(t.exceptions[:cap(t.exceptions)])
	clear(t.decisions[:cap(t.decisions)])
	t.e, t.snap, t.ev, t.event = nil, nil, nil, event.Event{}
	trackers.Put(t)
}

// match keeps the triggers and exceptions the event satisfies and reports
// whether there is any.
func (t *tracker) match(l *listeners) bool {
	for _, r := range l.triggers {
		if !r.t.Matches(t.ev) || t.hasTrigger(r.c) {
			continue
		}
		t.triggers = append(t.triggers, r)
	}
	for _, r := range l.exceptions {
		if r.x.Matches(t.ev) {
			t.exceptions = append(t.exceptions, r)
		}
	}
	return len(t.triggers) > 0 || len(t.exceptions) > 0
}

func (t *tracker) hasTrigger(c *campaign) bool {
	for _, r := range t.triggers {
		if r.c == c {
			return true
		}
	}
	return false
}

// update is the atomic part of Track, run by the store under the user's
// lock. It must be deterministic: a SQL store may run it twice.
func (t *tracker) update(u *store.UserState, duplicate bool) {
	t.decisions = t.decisions[:0]
	t.scheduled, t.earliest = false, maxInt64
	if duplicate {
		t.duplicate()
	} else {
		t.dropStale(u)
		t.cancelByExceptions(u)
		for _, r := range t.triggers {
			t.evaluate(u, r)
		}
	}
	t.e.appendLog(u, t.now, t.decisions...)
}

func (t *tracker) decision(kind rule.DecisionKind, reason rule.Reason, c *campaign) rule.Decision {
	return rule.Decision{
		Kind: kind, Reason: reason, CampaignID: c.Campaign.ID, UserID: t.ev.UserID,
		EventID: t.ev.ID, EventKind: t.ev.Kind, EventTime: t.ev.Time, At: t.now,
	}
}

// duplicate records one decision per follow-up the event concerns.
func (t *tracker) duplicate() {
	seen := func(c *campaign) bool {
		for _, d := range t.decisions {
			if d.CampaignID == c.Campaign.ID {
				return true
			}
		}
		return false
	}
	for _, r := range t.triggers {
		t.decisions = append(t.decisions, t.decision(rule.Duplicate, rule.ReasonDuplicateEvent, r.c))
	}
	for _, r := range t.exceptions {
		if !seen(r.c) {
			t.decisions = append(t.decisions, t.decision(rule.Duplicate, rule.ReasonDuplicateEvent, r.c))
		}
	}
}

// dropStale cancels deliveries left from an earlier activation of their
// follow-up (another engine stopped it and CancelCampaign has not reached
// them yet, or it was resumed since).
func (t *tracker) dropStale(u *store.UserState) {
	for i := 0; i < len(u.Pending); {
		p := u.Pending[i]
		if !t.snap.stale(p) {
			i++
			continue
		}
		u.RemovePending(i)
		t.decisions = append(t.decisions, pendingDecision(rule.Cancelled, rule.ReasonCampaignStopped, p, t.now))
	}
}

// cancelByExceptions cancels the pending deliveries whose follow-up has an
// exception the event matches, if the event happened while the user was
// waiting: strictly after the trigger and strictly before the due time
// (SPEC.md R6). A delivery whose send has started cannot be stopped; it is
// marked so that a failed send is cancelled instead of retried.
func (t *tracker) cancelByExceptions(u *store.UserState) {
	at := t.ev.Time
	for _, r := range t.exceptions {
		for i := 0; i < len(u.Pending); {
			p := u.Pending[i]
			if p.CampaignID != r.c.Campaign.ID || !at.After(p.Trigger.Time) || !at.Before(p.DueAt) {
				i++
				continue
			}
			if p.Sending {
				p.CancelOnFailure = true
				i++
				continue
			}
			u.RemovePending(i)
			d := pendingDecision(rule.Cancelled, rule.ReasonException, p, t.now)
			d.EventID, d.EventKind, d.EventTime = t.ev.ID, t.ev.Kind, t.ev.Time
			d.Rule = r.desc
			d.Detail = "waiting since " + p.Trigger.Time.UTC().Format(time.RFC3339)
			t.decisions = append(t.decisions, d)
		}
	}
}

// evaluate decides whether trigger r schedules its follow-up for this user,
// checking in order: activation (R3), original active (R4), start (R9),
// audience (R9), pending (R7), re-eligibility (R8), end (R9).
func (t *tracker) evaluate(u *store.UserState, r triggerRef) {
	c, ev := r.c, t.ev
	camp := &c.Campaign
	suppress := func(reason rule.Reason, detail string) {
		d := t.decision(rule.Suppressed, reason, c)
		d.Rule, d.Detail = r.desc, detail
		t.decisions = append(t.decisions, d)
	}
	if ev.Time.Before(c.ActivatedAt) {
		suppress(rule.ReasonBeforeActivation, "activated at "+c.ActivatedAt.UTC().Format(time.RFC3339))
		return
	}
	if r.t.CampaignID != "" && !t.e.originCounts(t.snap.campaigns[r.t.CampaignID]) {
		suppress(rule.ReasonOriginalNotActive, "")
		return
	}
	if !camp.Start.IsZero() && ev.Time.Before(camp.Start) {
		suppress(rule.ReasonOutsideDuration, "before start "+camp.Start.UTC().Format(time.RFC3339))
		return
	}
	for _, p := range u.Pending {
		if p.CampaignID == camp.ID {
			suppress(rule.ReasonAlreadyPending, "delivery "+p.ID+" due "+p.DueAt.UTC().Format(time.RFC3339))
			return
		}
	}
	if rc, ok := u.Receipt(camp.ID); ok && !camp.Reeligibility.Allows(rc.At, ev.Time) {
		suppress(rule.ReasonNotReeligible, "received at "+rc.At.UTC().Format(time.RFC3339)+", "+camp.Reeligibility.String())
		return
	}
	due := camp.Delay.DueAt(ev.Time, t.e.cfg.location)
	if !camp.End.IsZero() && !due.Before(camp.End) {
		suppress(rule.ReasonOutsideDuration, "due "+due.UTC().Format(time.RFC3339)+", not before end "+camp.End.UTC().Format(time.RFC3339))
		return
	}
	p := &store.Pending{
		ID:         deliveryID(t.e.cfg.namespace, camp.ID, ev),
		CampaignID: camp.ID,
		Activation: c.Activation,
		Trigger:    *ev,
		DueAt:      due,
		ReadyAt:    due,
	}
	if len(ev.Properties) > 0 {
		p.Trigger.Properties = cloneProperties(ev.Properties)
	}
	for u.Find(p.ID) >= 0 { // the same trigger twice (no event ID, same time): keep IDs unique
		p.ID += "+"
	}
	u.Pending = append(u.Pending, p)
	d := pendingDecision(rule.Scheduled, "", p, t.now)
	d.Rule = r.desc
	if !camp.Delay.IsZero() && due.Before(t.now) {
		d.Reason, d.Detail = rule.ReasonLate, "late by "+t.now.Sub(due).String()
	}
	t.decisions = append(t.decisions, d)
	t.scheduled = true
	t.earliest = min(t.earliest, due.UnixNano())
}

// originCounts reports whether interactions with original o count now
// (SPEC.md R4): it must be active, or stopped when the engine accepts
// stopped originals.
func (e *Engine) originCounts(o *campaign) bool {
	return o != nil && (o.State == rule.Active || (e.cfg.acceptStopped && o.State == rule.Stopped))
}

// cloneProperties deep-copies event properties so that the host may reuse
// its maps after Track returns.
func cloneProperties(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneProperties(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

// signal wakes Run without blocking.
func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// deliveryID derives a delivery's ID from what identifies its trigger, so
// that it is the same wherever and however often it is computed: 128 bits
// of FNV-1a over namespace, follow-up, user, event ID and event time, as 32
// hex digits.
func deliveryID(ns, campaignID string, ev *event.Event) string {
	const prime = 1099511628211
	h1, h2 := uint64(14695981039346656037), uint64(0x9ae16a3b2f90404f)
	mix := func(s string) {
		for i := 0; i < len(s); i++ {
			h1 = (h1 ^ uint64(s[i])) * prime
			h2 = (h2 ^ uint64(s[i])) * prime
		}
		h1 = (h1 ^ 0xff) * prime // field separator
		h2 = (h2 ^ 0xfe) * prime
	}
	mix(ns)
	mix(campaignID)
	mix(ev.UserID)
	mix(ev.ID)
	ns64 := uint64(ev.Time.UnixNano())
	for i := range 8 {
		b := byte(ns64 >> (8 * i))
		h1 = (h1 ^ uint64(b)) * prime
		h2 = (h2 ^ uint64(b)) * prime
	}
	h2 ^= h1 >> 29 // decorrelate the halves
	const digits = "0123456789abcdef"
	var buf [32]byte
	for i := range 16 {
		buf[15-i] = digits[h1>>(4*i)&0xf]
		buf[31-i] = digits[h2>>(4*i)&0xf]
	}
	return string(buf[:])
}
