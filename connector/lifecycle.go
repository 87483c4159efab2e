package connector

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Save creates campaign c as a draft, or updates its definition keeping its
// state and activation: an edit applies to decisions taken after it, and
// pending deliveries are sent with the message current at send time.
//
// c must be valid ([rule.Campaign.Validate]), its triggers and exceptions
// must name campaigns the engine knows ([ErrUnknownCampaign]), and an
// audience needs a [Directory] that resolves segments ([ErrNoDirectory]);
// an archived campaign cannot be edited ([ErrInvalidTransition]). Every
// error names the campaign; each problem of the definition is a
// [*rule.ValidationError] with its field path, and there may be several
// (errors.Join). On error nothing is stored.
func (e *Engine) Save(ctx context.Context, c rule.Campaign) error {
	if ctx == nil {
		return errNilContext("Save")
	}
	if err := e.checkDefinition(&c); err != nil {
		return campaignError("save", c.ID, err)
	}
	snap, err := e.current(ctx)
	if err != nil {
		return fmt.Errorf("connector: save %q: %w", c.ID, err)
	}
	if err := checkReferences(&c, snap.knows, suggestible(snap.campaignIDs())); err != nil {
		return campaignError("save", c.ID, err)
	}
	_, _, _, ws, err := e.save(ctx, c, false)
	e.emitWarnings(ws, e.cfg.clock.Now())
	return err
}

// checkDefinition reports what is wrong with c on its own: what
// [rule.Campaign.Validate] finds, and an audience without the engine's
// [Directory].
func (e *Engine) checkDefinition(c *rule.Campaign) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := e.checkAudience(c); err != nil {
		return err
	}
	return nil
}

// errUnchanged, returned by an update function, leaves the stored record
// as it is: there was nothing to change.
var errUnchanged = errors.New("connector: unchanged")

// save stores definition c (checked): a new campaign as a draft, an
// existing one keeping its state and activation. With unlessSame, a stored
// definition equal to c is left as it is, and saved is false. created
// reports a new campaign; prev is the definition c replaced (zero for a
// new campaign), for the decision that says what changed. ws are the
// warnings about the saved campaign, for the caller to hand to the
// observers.
func (e *Engine) save(ctx context.Context, c rule.Campaign, unlessSame bool) (created, saved bool, prev rule.Campaign, ws []Warning, err error) {
	now := e.cfg.clock.Now()
	def := c.Clone()
	var seen int64 // the stored record's revision
	rec, err := e.store.UpdateCampaign(ctx, e.cfg.namespace, c.ID, func(rec *store.CampaignRecord, exists bool) error {
		created, seen, prev = !exists, rec.Revision, rule.Campaign{}
		if exists { // a copy: the update function may run again, and rec is the store's
			prev = rec.Campaign.Clone()
		}
		switch {
		case !exists:
			*rec = store.CampaignRecord{State: rule.Draft, CreatedAt: now}
		case rec.State == rule.Archived:
			return fmt.Errorf("connector: save %q: %w: the campaign is archived", c.ID, ErrInvalidTransition)
		case unlessSame && sameDefinition(&rec.Campaign, &def):
			return errUnchanged
		}
		rec.Campaign = def
		rec.UpdatedAt = now
		return nil
	})
	if errors.Is(err, errUnchanged) {
		if err := e.catchUp(ctx, seen); err != nil {
			return false, false, prev, nil, fmt.Errorf("connector: save %q: %w", c.ID, err)
		}
		return false, false, prev, nil, nil
	}
	if err != nil {
		return false, false, rule.Campaign{}, nil, wrapStore("save", c.ID, err)
	}
	snap, err := e.adopt(ctx, rec)
	if err != nil {
		return created, true, prev, nil, fmt.Errorf("connector: save %q: %w", c.ID, err)
	}
	return created, true, prev, e.warningsFor(snap, c.ID, now, time.Time{}), nil
}

// checkReferences reports triggers and exceptions of c that name
// campaigns known does not know, as [*rule.ValidationError] values wrapping
// [ErrUnknownCampaign]; one that looks like a misspelling of one of names,
// the IDs known knows, suggests it.
func checkReferences(c *rule.Campaign, known func(id string) bool, names iter.Seq[string]) error {
	var errs []error
	check := func(field, id string) {
		if id != "" && id != c.ID && !known(id) {
			errs = append(errs, &rule.ValidationError{Object: "campaign", Field: field,
				Reason: fmt.Sprintf("campaign %q is not known%s", id, didYouMean(id, names)), Err: ErrUnknownCampaign})
		}
	}
	for i, t := range c.Triggers {
		check(fmt.Sprintf("triggers[%d].campaign_id", i), t.CampaignID)
	}
	for i, x := range c.Exceptions {
		check(fmt.Sprintf("exceptions[%d].campaign_id", i), x.CampaignID)
	}
	return errors.Join(errs...)
}

// knows reports whether the snapshot holds campaign id, in any state; a
// nil snapshot (an Engine not made by New) knows none.
func (s *snapshot) knows(id string) bool { return s != nil && s.campaign(id) != nil }

// campaignIDs yields the IDs of the snapshot's campaigns, in any state,
// in no particular order; a nil snapshot yields none.
func (s *snapshot) campaignIDs() iter.Seq[string] {
	return func(yield func(string) bool) {
		if s == nil {
			return
		}
		for id := range s.campaigns.all() {
			if !yield(id) {
				return
			}
		}
	}
}

// Publish makes a draft or stopped campaign active and records its
// activation time, the engine clock's now: a follow-up counts only
// interactions at or after it, unless a [Backfill] option
// replays earlier ones from the interaction log. Publishing an original
// while a follow-up that targets it is still a draft is allowed but
// produces a [rule.Warned] decision for the observers: the follow-up
// misses the interactions that happen before it is published.
//
// A backfill runs after the activation is stored: if it fails, the
// campaign is active and the error says so; publishing again is refused
// (it is active), so stop, then publish with the backfill again.
func (e *Engine) Publish(ctx context.Context, id string, opts ...PublishOption) error {
	if ctx == nil {
		return errNilContext("Publish")
	}
	var pc publishConfig
	for _, o := range opts {
		if o != nil {
			o(&pc)
		}
	}
	if !pc.backfillSince.IsZero() && e.cfg.interactionLog == 0 {
		return fmt.Errorf("connector: publish %q with a backfill: %w", id, ErrNoInteractionLog)
	}
	if _, _, err := e.activate(ctx, id, pc.backfillSince); err != nil {
		return err
	}
	if !pc.backfillSince.IsZero() {
		if err := e.backfill(ctx, id, pc.backfillSince); err != nil {
			return fmt.Errorf("connector: publish %q: the campaign is active but its backfill failed: %w", id, err)
		}
	}
	return nil
}

// activate makes campaign id active with a new activation at the engine
// clock's now, and hands the observers the warnings that follow (for a
// backfill from since, when not zero, that replays earlier triggers). A
// campaign in one of the states leave is left as it is and changed is
// false. from is the state it was in.
func (e *Engine) activate(ctx context.Context, id string, since time.Time, leave ...rule.State) (from rule.State, changed bool, err error) {
	now := e.cfg.clock.Now()
	rec, from, changed, err := e.transitionTo(ctx, "publish", id, rule.Active, func(rec *store.CampaignRecord) {
		rec.ActivatedAt = now
		rec.Activation++
	}, leave...)
	if err != nil || !changed {
		return from, changed, err
	}
	snap, err := e.adopt(ctx, rec)
	if err != nil {
		return from, true, fmt.Errorf("connector: publish %q: %w", id, err)
	}
	e.emitWarnings(e.warningsFor(snap, id, now, since), now)
	return from, true, nil
}

// Stop makes an active campaign stopped. Its pending deliveries are
// cancelled and will not be sent on resume; interactions that happen while
// it is stopped are lost for it. Publish resumes it with a new
// activation time, and so does [Engine.Apply] of a set that holds it,
// unless given [KeepStopped]. A stop whose cancellation is cut short
// returns [ErrNotCancelled], the campaign stopped all the same;
// [Engine.CancelPending] finishes the cancellation.
func (e *Engine) Stop(ctx context.Context, id string) error {
	if ctx == nil {
		return errNilContext("Stop")
	}
	rec, err := e.transition(ctx, "stop", id, rule.Stopped, nil)
	if err != nil {
		return err
	}
	return e.cancelAll(ctx, "stop", rec)
}

// Archive makes a campaign archived, which is final: its pending
// deliveries are cancelled and it can no longer be edited or published.
// Follow-ups that trigger on it stop receiving its interactions. As with
// [Engine.Stop], a cancellation cut short returns [ErrNotCancelled], and
// [Engine.CancelPending] finishes it.
func (e *Engine) Archive(ctx context.Context, id string) error {
	if ctx == nil {
		return errNilContext("Archive")
	}
	rec, err := e.transition(ctx, "archive", id, rule.Archived, nil)
	if err != nil {
		return err
	}
	return e.cancelAll(ctx, "archive", rec)
}

// Campaign returns the stored record of campaign id, or an error wrapping
// [ErrUnknownCampaign].
func (e *Engine) Campaign(ctx context.Context, id string) (store.CampaignRecord, error) {
	if ctx == nil {
		return store.CampaignRecord{}, errNilContext("Campaign")
	}
	snap, err := e.current(ctx)
	if err != nil {
		return store.CampaignRecord{}, fmt.Errorf("connector: campaign %q: %w", id, err)
	}
	c := snap.campaign(id)
	if c == nil {
		return store.CampaignRecord{}, fmt.Errorf("%w %q", ErrUnknownCampaign, id)
	}
	rec := c.CampaignRecord
	rec.Campaign = rec.Campaign.Clone()
	return rec, nil
}

// Campaigns returns every campaign record of the engine's namespace, sorted
// by ID.
func (e *Engine) Campaigns(ctx context.Context) ([]store.CampaignRecord, error) {
	if ctx == nil {
		return nil, errNilContext("Campaigns")
	}
	snap, err := e.current(ctx)
	if err != nil {
		return nil, fmt.Errorf("connector: campaigns: %w", err)
	}
	out := make([]store.CampaignRecord, 0, snap.campaigns.len())
	for _, c := range snap.campaigns.all() {
		rec := c.CampaignRecord
		rec.Campaign = rec.Campaign.Clone()
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b store.CampaignRecord) int {
		switch {
		case a.Campaign.ID < b.Campaign.ID:
			return -1
		case a.Campaign.ID > b.Campaign.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

// transition moves campaign id to state to, if its lifecycle allows it,
// applying also (when not nil) to the record inside the same atomic update.
func (e *Engine) transition(ctx context.Context, op, id string, to rule.State, also func(*store.CampaignRecord)) (store.CampaignRecord, error) {
	rec, _, _, err := e.transitionTo(ctx, op, id, to, also)
	return rec, err
}

// transitionTo is transition that also returns the state the campaign was
// in; a campaign in one of the states leave is left as it is and changed
// is false.
func (e *Engine) transitionTo(ctx context.Context, op, id string, to rule.State, also func(*store.CampaignRecord), leave ...rule.State) (rec store.CampaignRecord, from rule.State, changed bool, err error) {
	if !campaignIDFits(id) {
		// Save refuses such an ID, and a store that cannot hold the text
		// (PostgreSQL and a NUL byte) would fail the update as if it were
		// down: the store is not asked, unless the engine knows a
		// campaign of that ID (written to the store by other means), as
		// [Engine.Campaign] does.
		snap, err := e.current(ctx)
		if err != nil {
			return rec, "", false, wrapStore(op, id, err)
		}
		if !snap.knows(id) {
			return rec, "", false, fmt.Errorf("%w %q (%s)", ErrUnknownCampaign, id, op)
		}
	}
	now := e.cfg.clock.Now()
	var seen int64 // the stored record's revision
	rec, err = e.store.UpdateCampaign(ctx, e.cfg.namespace, id, func(rec *store.CampaignRecord, exists bool) error {
		if !exists {
			return fmt.Errorf("%w %q (%s)", ErrUnknownCampaign, id, op)
		}
		from, seen = rec.State, rec.Revision
		if slices.Contains(leave, rec.State) {
			return errUnchanged
		}
		if err := rec.State.Transition(to); err != nil {
			return fmt.Errorf("connector: %s %q: %w", op, id, err)
		}
		rec.State = to
		rec.UpdatedAt = now
		if also != nil {
			also(rec)
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		if err := e.catchUp(ctx, seen); err != nil {
			return rec, from, false, fmt.Errorf("connector: %s %q: %w", op, id, err)
		}
		return rec, from, false, nil
	}
	if err != nil {
		if seen > 0 {
			// Refused (an invalid transition): the engine still catches
			// up with the record it read. Should that read fail, the
			// refusal is the error to report; the engine reads the
			// campaigns at its next lifecycle call, or once the store's
			// revision shows the change.
			_ = e.catchUp(ctx, seen)
		}
		return rec, from, false, wrapStore(op, id, err)
	}
	return rec, from, true, nil
}

// campaignIDFits reports whether id can name a campaign: one
// [rule.Campaign.Validate] accepts.
func campaignIDFits(id string) bool {
	return id != "" && len(id) <= rule.MaxIDLength && event.CheckText(id) == nil
}

// campaignError names operation op and campaign id in each of err's
// problems (err may join several), keeping them as they are for errors.Is
// and errors.As.
func campaignError(op, id string, err error) error {
	var errs []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = &opError{op: op, id: id, err: e}
	}
	if len(out) == 1 {
		return out[0]
	}
	return errors.Join(out...)
}

// opError is a problem of campaign id that operation op met:
// `connector: save "resend": delay.after: …`.
type opError struct {
	op, id string
	err    error
}

func (e *opError) Error() string {
	return fmt.Sprintf("connector: %s %q: %s", e.op, e.id, problemText(e.err))
}

func (e *opError) Unwrap() error { return e.err }

// problemText renders err, a problem of a campaign, for a message that
// already names the campaign: a validation error of the campaign itself
// leaves out its Object ("campaign"), which would only repeat it. A nil
// err (a CampaignError a host built without one) reads "<nil>", as fmt
// prints it.
func problemText(err error) string {
	if err == nil {
		return "<nil>"
	}
	if ve, ok := err.(*rule.ValidationError); ok && ve.Object == "campaign" {
		c := *ve
		c.Object = ""
		return c.Error()
	}
	return err.Error()
}

// wrapStore passes through the engine's own errors (made inside an update
// function) and wraps back-end errors with the operation.
func wrapStore(op, id string, err error) error {
	if errors.Is(err, ErrUnknownCampaign) || errors.Is(err, ErrInvalidTransition) {
		return err
	}
	return fmt.Errorf("connector: %s %q: %w", op, id, err)
}
