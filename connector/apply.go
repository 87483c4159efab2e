package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// ErrCycle: follow-ups of a set given to [Engine.Apply] trigger on each
// other in a cycle (through the set or the stored campaigns), so no order
// publishes each follow-up before the campaigns it triggers on.
var ErrCycle = errors.New("connector: follow-ups trigger on each other in a cycle")

// ErrEmptySet: [Engine.Apply] with [StopOthers] was given no campaign.
// It would stop every campaign of the namespace and cancel their pending
// deliveries for good; an empty set is far more often definitions that
// failed to load. Stop campaigns with [Engine.Stop] instead.
var ErrEmptySet = errors.New("connector: apply: StopOthers with an empty set would stop every campaign")

// CampaignError is one problem [Engine.Apply] found with one campaign of
// its set. Err is a [*rule.ValidationError] naming the field (its Field is
// the JSON path, "triggers[0].campaign_id") for a definition or a
// reference, or the error of the step that failed; errors.Is and
// errors.As see through it.
type CampaignError struct {
	CampaignID string
	Err        error
}

// Error implements error: `connector: campaign "resend":
// triggers[0].campaign_id: campaign "newsleter" is not known (did you
// mean "newsletter"?) (connector: unknown campaign)`. A step that failed already names the campaign and
// itself, and is given as it is: `connector: save "resend": …`.
func (e *CampaignError) Error() string {
	text := problemText(e.Err)
	if namesCampaign(text, e.CampaignID) {
		return text
	}
	return fmt.Sprintf("connector: campaign %q: %s", e.CampaignID, text)
}

// namesCampaign reports whether text is an engine error about campaign
// id: `connector: <step> "<id>": …`, the step being words without a colon.
func namesCampaign(text, id string) bool {
	rest, ok := strings.CutPrefix(text, "connector: ")
	if !ok {
		return false
	}
	step, _, ok := strings.Cut(rest, " "+strconv.Quote(id)+":")
	return ok && step != "" && !strings.ContainsAny(step, ":\"")
}

// Unwrap returns the problem.
func (e *CampaignError) Unwrap() error { return e.Err }

// ApplyOption configures one call of [Engine.Apply].
type ApplyOption func(*applyConfig)

type applyConfig struct {
	stopOthers, keepStopped bool
}

// StopOthers makes [Engine.Apply] stop the active campaigns of the
// namespace that are not in the set, as [Engine.Stop] does (their pending
// deliveries are cancelled), after the set is published. It also finishes
// the cancellation of the campaigns outside the set already stopped: that
// of a stop cut short (its process killed, or [ErrNotCancelled]) is done by
// the next Apply with StopOthers. A cancellation that fails does not keep
// the other campaigns from stopping; Apply's error then wraps
// [ErrNotCancelled]. Archived campaigns outside the set are left as they
// are (nothing of theirs is sent: their deliveries are dropped when due).
// A follow-up of
// the set may then not trigger on an active campaign outside it: the
// campaign it counts on would stop. A campaign stopped or archived by
// someone else while Apply runs is left so. Without StopOthers, campaigns
// absent from the set keep their state. An empty set is refused
// ([ErrEmptySet]).
//
// Replicas that apply different sets (during a rolling deploy that
// changes the set) undo each other at each start: the last Apply's
// definitions win, and a campaign only one set holds is stopped and
// resumed in turn, its pending deliveries cancelled at each stop. Two
// such Applies that run at the same time can leave a mix of both sets,
// even one neither set would pass (follow-ups that trigger on each other
// in a cycle, which [Engine.Check] reports), until the next Apply. Apply
// a changed set without StopOthers until every replica runs it, then
// with.
func StopOthers() ApplyOption {
	return func(c *applyConfig) { c.stopOthers = true }
}

// KeepStopped makes [Engine.Apply] leave stopped the campaigns of the set
// that are stopped, rather than resume them: a stop made by an operator
// (from a dashboard, or [Engine.Stop]) then survives the Apply that every
// start of every replica runs. Their definitions are still saved when they
// differ, and drafts are still published. Resume such a campaign with
// [Engine.Publish]. Without it, Apply resumes them, and logs each at Warn.
//
// It also leaves archived the campaigns of the set an operator archived
// (before Apply or while it runs), where Apply without it refuses the set
// (an archived campaign cannot be published again). Each campaign left
// stopped or archived is logged at Info, and, once the rest of the set is
// applied, what is still pending of it is cancelled: the cancellation of
// a Stop or Archive cut short (its process killed, or [ErrNotCancelled])
// is finished by the next Apply. If that fails, the set stays applied and
// Apply's error wraps [ErrNotCancelled].
//
// KeepStopped cannot tell who stopped a campaign: one that [StopOthers]
// stopped when it left the set stays stopped when it comes back into the
// set. Publish it, or apply once without KeepStopped.
func KeepStopped() ApplyOption {
	return func(c *applyConfig) { c.keepStopped = true }
}

// Apply brings the namespace's campaigns to the definitions of campaigns
// and makes each of them active (those stopped or archived excepted, with
// [KeepStopped]): the way to start an engine whose campaigns are defined
// in code or files.
//
// Apply plans from the campaigns as stored when it starts (not from the
// engine's snapshot, which may lag another engine's change by up to the
// store's revision check). With [StopOthers], an empty set is refused
// ([ErrEmptySet]).
//
// The set is checked as a whole first: each definition (as [Engine.Save]
// checks it), each trigger and exception naming a campaign of the set or
// one already stored, no campaign twice, none archived (an archived
// campaign cannot be published again; with [KeepStopped] it is left
// archived instead), and no cycle of follow-ups
// triggering on each other. If anything is wrong, nothing changes and the
// error joins a [*CampaignError] for every problem of every campaign.
//
// Then, for each campaign of the set: an unknown one is saved; one whose
// stored definition differs is saved as an edit (it applies to future
// decisions, as [Engine.Save]); one that is a draft or stopped is
// published ([Engine.Publish]: a stopped one resumes with a new
// activation, unless [KeepStopped] is given; each resume is logged at
// Warn, since it undoes a stop an operator may have made). A campaign
// already active with the same definition is left exactly as it is: its
// activation time, pending deliveries and receipts are untouched, so
// applying the same set at every start changes nothing after the first.
// Campaigns are saved in dependency order (a campaign before the
// follow-ups that trigger on it, unrelated ones in any order) and
// published in the reverse order (a follow-up before the campaigns it
// triggers on), so that no interaction with an original is lost for its
// follow-ups. Campaigns absent from the
// set keep their state, unless [StopOthers] is given.
//
// Each step is one atomic update that does nothing if another engine
// already did it, so many replicas may apply the same set at once: none
// gets an error, and the store ends in one state (each campaign published
// once). Each change goes to the observers as a decision of kind
// [rule.Applied], and the logger ([WithLogger]) gets a summary at Info:
// "apply: created 2, edited 1, published 2, resumed 0, stopped 0,
// unchanged 5" (followed by ", kept stopped 1" and ", kept archived 1"
// when [KeepStopped] left campaigns stopped or archived, each of which
// also gets a line of its own, and by ", left active outside the set 1
// (StopOthers stops them)" when, without [StopOthers], active campaigns
// are missing from the set; the same figures are the summary's
// attributes, kept_stopped, kept_archived and active_outside among them).
//
// A store error stops Apply where it is: what was done stays done, and
// applying the set again finishes the work.
func (e *Engine) Apply(ctx context.Context, campaigns []rule.Campaign, opts ...ApplyOption) error {
	if ctx == nil {
		return errNilContext("Apply")
	}
	var cfg applyConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.stopOthers && len(campaigns) == 0 {
		return ErrEmptySet
	}
	// The campaigns as stored now, not as a snapshot the store's cached
	// revision may keep: another engine's stop or edit a moment ago must
	// be seen, or the plan would leave it in place.
	snap, err := e.refresh(ctx, -1)
	if err != nil {
		return fmt.Errorf("connector: apply: %w", err)
	}
	p, err := e.planApply(snap, campaigns, cfg)
	if err != nil {
		return err
	}
	sum := applySummary{set: len(campaigns), counted: map[string]bool{}}
	defer e.logApply(&sum)
	note := func(id string, count *int, reason rule.Reason, detail string) {
		*count++
		if count != &sum.stopped { // a stopped campaign is not in the set
			sum.counted[id] = true
		}
		e.observe(rule.Decision{Kind: rule.Applied, Reason: reason, CampaignID: id, Detail: detail, At: e.cfg.clock.Now()})
	}
	// The warnings about a saved campaign wait for its publication, which
	// hands the observers those of the campaign as published: each once.
	// Those of a campaign left as it was (active, or kept stopped) are
	// handed over at the end, as they are then: a later step of the set
	// (a follow-up published, a campaign it names created) may have fixed
	// a hazard its save saw.
	var warnLater []string
	defer func() {
		now := e.cfg.clock.Now()
		snap := e.snap.Load()
		for _, id := range warnLater {
			e.emitWarnings(e.warningsFor(snap, id, now, time.Time{}), now)
		}
	}()
	var left []keptCampaign     // to finish cancelling once the set is applied
	for _, i := range p.order { // originals first
		c := campaigns[i]
		if p.saved[i] {
			continue
		}
		created, saved, prev, ws, err := e.save(ctx, c, true)
		if err != nil && cfg.keepStopped && e.archivedNow(ctx, c.ID, err) {
			continue // archived since the plan: KeepStopped leaves it (counted below)
		}
		if err != nil {
			return &CampaignError{CampaignID: c.ID, Err: err}
		}
		if len(ws) > 0 {
			warnLater = append(warnLater, c.ID)
		}
		switch {
		case created:
			note(c.ID, &sum.created, rule.ReasonCreated, "saved as a draft")
		case saved:
			note(c.ID, &sum.edited, rule.ReasonEdited, editedDetail(&prev, &c))
		}
	}
	for k := len(p.order) - 1; k >= 0; k-- { // follow-ups first
		if p.active[p.order[k]] {
			continue
		}
		id := campaigns[p.order[k]].ID
		leave := []rule.State{rule.Active}
		if cfg.keepStopped {
			leave = append(leave, rule.Stopped, rule.Archived) // archived: since the plan
		}
		from, changed, err := e.activate(ctx, id, time.Time{}, leave...)
		if err != nil {
			return &CampaignError{CampaignID: id, Err: err}
		}
		if changed { // activate handed over those of the campaign published
			warnLater = slices.DeleteFunc(warnLater, func(w string) bool { return w == id })
		}
		switch {
		case !changed && (from == rule.Stopped || from == rule.Archived):
			e.kept(&sum, id, from)
			left = append(left, keptCampaign{id, from})
		case changed && from == rule.Stopped:
			note(id, &sum.resumed, rule.ReasonPublished, "stopped → active: resumed")
			e.logResumed(id)
		case changed:
			note(id, &sum.published, rule.ReasonPublished, string(from)+" → active")
		}
	}
	for _, id := range p.archived {
		e.kept(&sum, id, rule.Archived)
		left = append(left, keptCampaign{id, rule.Archived})
	}
	if !cfg.stopOthers {
		sum.outside = len(p.others)
		return e.finishCancels(ctx, left)
	}
	// A cancellation that fails does not keep the next campaign from
	// stopping: the set is what runs, and the cancellation of the one that
	// failed is finished by the next Apply with StopOthers, which finishes
	// that of every stopped campaign outside the set (a stop cut short, by
	// this Apply's process killed or by anyone's).
	var errs []error
	for _, id := range p.others {
		rec, _, changed, err := e.transitionTo(ctx, "stop", id, rule.Stopped, nil, rule.Stopped, rule.Archived)
		if err != nil {
			return errors.Join(append(errs, &CampaignError{CampaignID: id, Err: err})...)
		}
		if !changed {
			continue // stopped or archived meanwhile, by someone else
		}
		note(id, &sum.stopped, rule.ReasonCampaignStopped, "active → stopped: not in the set")
		if err := e.cancelAll(ctx, "stop", rec); err != nil {
			errs = append(errs, &CampaignError{CampaignID: id, Err: err})
		}
	}
	for _, id := range p.stoppedOthers {
		left = append(left, keptCampaign{id, rule.Stopped})
	}
	return errors.Join(append(errs, e.finishCancels(ctx, left))...)
}

// keptCampaign is a campaign of the set that Apply left stopped or
// archived (KeepStopped).
type keptCampaign struct {
	id    string
	state rule.State
}

// finishCancels finishes the cancellations of the campaigns Apply left
// stopped or archived, once the set is applied: a clean-up (nothing of a
// stopped campaign is sent), whose failure must not keep the rest of the
// set from being published. It tries each and joins their errors.
func (e *Engine) finishCancels(ctx context.Context, left []keptCampaign) error {
	var errs []error
	for _, k := range left {
		if err := e.finishCancel(ctx, k.id, k.state); err != nil {
			errs = append(errs, &CampaignError{CampaignID: k.id, Err: err})
		}
	}
	return errors.Join(errs...)
}

// finishCancel cancels what is left pending of campaign id, which Apply
// leaves stopped or archived (KeepStopped): the cancellation of a Stop or
// Archive cut short (the process killed, the store failed: ErrNotCancelled)
// is done at the next start that applies the set, rather than each delivery
// waiting, listed as pending, until it falls due. With nothing left it
// cancels nothing, and as after a stop, the deliveries of a resume that
// overtook this call stay.
func (e *Engine) finishCancel(ctx context.Context, id string, state rule.State) error {
	op := cancelOp(state)
	rec, err := e.Campaign(ctx, id)
	if err != nil {
		return &notCancelledError{fmt.Sprintf("connector: %s %q: %v", op, id, err), err}
	}
	return e.cancelAll(ctx, op, rec)
}

// archivedNow reports whether err, from saving campaign id, is the refusal
// of a campaign archived (since Apply's plan, by another engine or an
// operator).
func (e *Engine) archivedNow(ctx context.Context, id string, err error) bool {
	if !errors.Is(err, rule.ErrInvalidTransition) {
		return false
	}
	rec, rerr := e.Campaign(ctx, id)
	return rerr == nil && rec.State == rule.Archived
}

// applySummary counts what one Apply changed.
type applySummary struct {
	set                                          int             // campaigns in the set
	created, edited, published, resumed, stopped int             // steps that changed something
	keptStopped, keptArchived                    int             // campaigns of the set KeepStopped left stopped, archived
	counted                                      map[string]bool // campaigns of the set a step changed or KeepStopped kept
	outside                                      int             // active campaigns outside the set left running (no StopOthers)
}

// kept counts in s that Apply left campaign id in state (stopped or
// archived), as KeepStopped asks, and says so at Info.
func (e *Engine) kept(s *applySummary, id string, state rule.State) {
	s.counted[id] = true
	msg := "campaignconnector: apply left a stopped campaign stopped (KeepStopped)"
	if state == rule.Archived {
		s.keptArchived++
		msg = "campaignconnector: apply left an archived campaign archived (KeepStopped)"
	} else {
		s.keptStopped++
	}
	if e.cfg.logger == nil {
		return
	}
	e.cfg.logger.LogAttrs(context.Background(), slog.LevelInfo, msg,
		slog.String("namespace", e.cfg.namespace), slog.String("campaign", id))
}

// logResumed warns that Apply resumed campaign id, which was stopped.
func (e *Engine) logResumed(id string) {
	if e.cfg.logger == nil {
		return
	}
	e.cfg.logger.LogAttrs(context.Background(), slog.LevelWarn,
		"campaignconnector: apply resumed a stopped campaign; pass connector.KeepStopped() to Apply to leave stopped campaigns stopped",
		slog.String("namespace", e.cfg.namespace), slog.String("campaign", id))
}

// logApply writes the summary of an Apply at Info: unchanged counts the
// campaigns of the set no step changed and KeepStopped did not leave
// stopped or archived; "kept stopped" and "kept archived" (when not 0)
// count those it left so.
func (e *Engine) logApply(s *applySummary) {
	if e.cfg.logger == nil {
		return
	}
	unchanged := s.set - len(s.counted)
	msg := fmt.Sprintf("campaignconnector: apply: created %d, edited %d, published %d, resumed %d, stopped %d, unchanged %d",
		s.created, s.edited, s.published, s.resumed, s.stopped, unchanged)
	if s.keptStopped > 0 {
		msg += fmt.Sprintf(", kept stopped %d", s.keptStopped)
	}
	if s.keptArchived > 0 {
		msg += fmt.Sprintf(", kept archived %d", s.keptArchived)
	}
	if s.outside > 0 {
		msg += fmt.Sprintf(", left active outside the set %d (StopOthers stops them)", s.outside)
	}
	e.cfg.logger.LogAttrs(context.Background(), slog.LevelInfo, msg, slog.String("namespace", e.cfg.namespace),
		slog.Int("created", s.created), slog.Int("edited", s.edited), slog.Int("published", s.published),
		slog.Int("resumed", s.resumed), slog.Int("stopped", s.stopped),
		slog.Int("kept_stopped", s.keptStopped), slog.Int("kept_archived", s.keptArchived),
		slog.Int("unchanged", unchanged), slog.Int("active_outside", s.outside))
}
