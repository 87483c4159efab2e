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
// apply; the store's or the directory's error, wrapped, when they fail;
// ctx's error, wrapped, when ctx ends while Track waits for another call's
// read of the campaigns.
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
	if err == nil && op.Fn != nil {
		if err := failed.of(ev.UserID); err != nil {
			return err // not tried, nor logged: an earlier event of the user failed
		}
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
		if t, err = e.prepareWith(ctx, snap, l, ev, now, false, nil); err != nil {
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
// Run's timer. The counts are a Track's, or a Publish's when the tracker
// replays a backfill.
func (e *Engine) afterUpdate(t *tracker) {
	op := "track"
	if t.only != nil {
		op = "publish"
	}
	e.tally(t.marks, t.now, t.ev.UserID, op)
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
