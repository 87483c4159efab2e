package connector_test

import (
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// refModel is TestModel's reference: the behaviour the manual (docs/)
// describes, written out as directly as possible, with plain slices and
// loops, no index and no shared code with the engine (it reads the
// generator's definitions, never rule's logic). Each method says the rule
// it follows.
//
// Where the manual leaves a point open, the model follows the engine's
// documentation: the order of the checks of a trigger (connector's
// evaluate), the 72-hour dedup window (WithDedupWindow), "late" only for
// non-immediate delays, receipt time = the clock at the accepted send, the
// retry policy the test configures, and the stepping of
// simulate.AdvanceTo.
type refModel struct {
	sc       *scenario
	now      time.Time
	camps    []*refCampaign // in the order they were saved
	pending  []*refPending  // every user's, in scheduling order
	receipts []refReceipt
	seen     []refSeen
	out      *observed // what the current operation produced
}

type refCampaign struct {
	def         genCampaign
	state       rule.State
	activatedAt time.Time
	activation  int
}

type refPending struct {
	user, campaign string
	activation     int
	triggerID      string
	triggerTime    time.Time
	due, ready     time.Time
	attempts       int
}

type refReceipt struct {
	user, campaign string
	at             time.Time
}

type refSeen struct {
	user, id string
	at       time.Time // when it was processed
}

// Configuration of the engine under test (see newEngineRun) that the model
// must know.
const (
	refDedupWindow = 72 * time.Hour // WithDedupWindow's default
	refMaxAttempts = 3
	refRetryBase   = time.Minute
	refRetryMax    = time.Hour
)

func newRefModel(sc *scenario) *refModel { return &refModel{sc: sc, now: sc.Start} }

// apply runs one operation and returns what it produced.
func (m *refModel) apply(op genOp) observed {
	m.out = &observed{}
	switch op.Kind {
	case opSave:
		m.out.err = m.save(op.Camp)
	case opPublish:
		m.out.err = m.publish(op.ID)
	case opStop:
		m.out.err = m.stop(op.ID, rule.Stopped)
	case opArchive:
		m.out.err = m.stop(op.ID, rule.Archived)
	case opTrack:
		m.track(op.Event)
	case opAdvance:
		m.advanceTo(m.now.Add(op.Advance))
	}
	m.out.nextDue = m.nextDue()
	return *m.out
}

func (m *refModel) find(id string) *refCampaign {
	for _, c := range m.camps {
		if c.def.ID == id {
			return c
		}
	}
	return nil
}

// save: triggers and exceptions must name known campaigns; a new campaign
// is a draft; an edit keeps state and activation and applies to the
// decisions after it; an archived campaign cannot be edited.
func (m *refModel) save(def genCampaign) string {
	for _, x := range append(slices.Clone(def.Triggers), def.Exceptions...) {
		if x.Campaign != "" && x.Campaign != def.ID && m.find(x.Campaign) == nil {
			return errUnknown
		}
	}
	c := m.find(def.ID)
	switch {
	case c == nil:
		m.camps = append(m.camps, &refCampaign{def: def, state: rule.Draft})
	case c.state == rule.Archived:
		return errTransition
	default:
		c.def = def
	}
	m.warn(def.ID)
	return ""
}

// publish: draft or stopped → active, with a new activation time.
func (m *refModel) publish(id string) string {
	c := m.find(id)
	switch {
	case c == nil:
		return errUnknown
	case c.state != rule.Draft && c.state != rule.Stopped:
		return errTransition
	}
	c.state, c.activatedAt = rule.Active, m.now
	c.activation++
	m.warn(id)
	return ""
}

// stop stops or archives id: its pending deliveries are cancelled.
func (m *refModel) stop(id string, to rule.State) string {
	c := m.find(id)
	switch {
	case c == nil:
		return errUnknown
	case to == rule.Stopped && c.state != rule.Active,
		to == rule.Archived && c.state == rule.Archived:
		return errTransition
	}
	c.state = to
	for _, p := range slices.Clone(m.pending) {
		if p.campaign == id {
			m.remove(p)
			m.decide(p.user, rule.Cancelled, rule.ReasonCampaignStopped, id, p.triggerID, p.due, p.attempts)
		}
	}
	return ""
}

// warn emits the warnings the engine gives about campaign id after it was
// saved or published: follow-ups still drafts that target it while it is
// active, and a delay that no trigger from now on can fit before the end. Due
// times only grow with the trigger time, so the earliest possible trigger
// (now, or the start) tells.
func (m *refModel) warn(id string) {
	c := m.find(id)
	if c.state == rule.Active {
		for _, f := range m.camps {
			if f.state != rule.Draft {
				continue
			}
			for _, t := range f.def.Triggers {
				if t.Campaign == id {
					m.decide("", rule.Warned, rule.ReasonDraftFollowUp, f.def.ID, "", time.Time{}, 0)
					break
				}
			}
		}
	}
	if len(c.def.Triggers) > 0 && !c.def.End.IsZero() {
		from := m.now
		if c.def.Start.After(from) {
			from = c.def.Start
		}
		if !dueAt(c.def.Delay, from).Before(c.def.End) {
			m.decide("", rule.Warned, rule.ReasonDelayExceedsDuration, id, "", time.Time{}, 0)
		}
	}
}

// activeFollowUps returns the active follow-ups in ID order.
func (m *refModel) activeFollowUps() []*refCampaign {
	var out []*refCampaign
	for _, c := range m.camps {
		if c.state == rule.Active && len(c.def.Triggers) > 0 {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *refCampaign) int { return strings.Compare(a.def.ID, b.def.ID) })
	return out
}

// track: an event naming an unknown campaign is reported as ignored
// (each time it arrives); an event ID seen within the dedup window is a
// duplicate, exceptions cancel the waits they fall in, then triggers
// schedule (see trigger).
func (m *refModel) track(ev genEvent) {
	at := ev.Time
	if at.IsZero() {
		at = m.now
	}
	if ev.Campaign != "" && m.find(ev.Campaign) == nil {
		m.decide(ev.User, rule.Ignored, rule.ReasonUnknownCampaign, ev.Campaign, ev.ID, time.Time{}, 0)
	}
	var concerned []*refCampaign // the follow-ups the event is about
	for _, f := range m.activeFollowUps() {
		if firstMatch(f.def.Triggers, ev) >= 0 || firstMatch(f.def.Exceptions, ev) >= 0 {
			concerned = append(concerned, f)
		}
	}
	if ev.ID != "" {
		if m.processed(ev.User, ev.ID) {
			for _, f := range concerned {
				m.decide(ev.User, rule.Duplicate, rule.ReasonDuplicateEvent, f.def.ID, ev.ID, time.Time{}, 0)
			}
			return
		}
		m.seen = append(m.seen, refSeen{user: ev.User, id: ev.ID, at: m.now})
	}
	for _, f := range m.activeFollowUps() {
		if firstMatch(f.def.Exceptions, ev) < 0 {
			continue
		}
		waiting := false
		for _, p := range slices.Clone(m.pending) {
			if p.user != ev.User || p.campaign != f.def.ID {
				continue
			}
			waiting = true
			// Only while the user waits: at or after the trigger (this
			// delivery exists, so its trigger was processed first) and
			// strictly before the due time. Outside, the exception is
			// recorded as ignored.
			switch {
			case at.Before(p.triggerTime):
				m.decide(ev.User, rule.Ignored, rule.ReasonBeforeTrigger, f.def.ID, ev.ID, p.due, p.attempts)
			case !at.Before(p.due):
				m.decide(ev.User, rule.Ignored, rule.ReasonAfterDue, f.def.ID, ev.ID, p.due, p.attempts)
			default:
				m.remove(p)
				m.decide(ev.User, rule.Cancelled, rule.ReasonException, f.def.ID, ev.ID, p.due, p.attempts)
				if at.Equal(p.triggerTime) {
					m.out.covered = append(m.out.covered, coverSameInstant)
				}
			}
		}
		// Not waiting, but the user received the follow-up after the
		// exception's time: it came too late, and says so.
		if !waiting {
			for _, rc := range m.receipts {
				if rc.user == ev.User && rc.campaign == f.def.ID && at.Before(rc.at) {
					m.decide(ev.User, rule.Ignored, rule.ReasonAfterSend, f.def.ID, ev.ID, time.Time{}, 0)
				}
			}
		}
	}
	for _, f := range m.activeFollowUps() {
		if i := firstMatch(f.def.Triggers, ev); i >= 0 {
			m.trigger(f, f.def.Triggers[i], ev, at)
		}
	}
}

// processed reports whether the user's event ID was processed within the
// dedup window.
func (m *refModel) processed(user, id string) bool {
	for _, s := range m.seen {
		if s.user == user && s.id == id && m.now.Before(s.at.Add(refDedupWindow)) {
			return true
		}
	}
	return false
}

// trigger evaluates one matching trigger of follow-up f, in the documented
// order of the checks.
func (m *refModel) trigger(f *refCampaign, t genMatcher, ev genEvent, at time.Time) {
	def := f.def
	suppress := func(r rule.Reason) { m.decide(ev.User, rule.Suppressed, r, def.ID, ev.ID, time.Time{}, 0) }
	if at.Before(f.activatedAt) { // only interactions from the activation on count
		suppress(rule.ReasonBeforeActivation)
		return
	}
	if t.Campaign != "" { // the original must be active
		if o := m.find(t.Campaign); o == nil || o.state != rule.Active {
			suppress(rule.ReasonOriginalNotActive)
			return
		}
	}
	if !def.Start.IsZero() && at.Before(def.Start) { // the trigger from the start on
		suppress(rule.ReasonOutsideDuration)
		return
	}
	var waiting []*refPending // the pending policy
	for _, p := range m.pending {
		if p.user == ev.User && p.campaign == def.ID {
			waiting = append(waiting, p)
		}
	}
	if def.Policy == rule.KeepFirst && len(waiting) > 0 {
		suppress(rule.ReasonAlreadyPending)
		return
	}
	for _, p := range waiting { // the latest trigger by time is kept
		if def.Policy == rule.ReplaceWithLatest && p.triggerTime.After(at) {
			suppress(rule.ReasonAlreadyPending)
			return
		}
	}
	for _, rc := range m.receipts { // re-eligibility
		if rc.user == ev.User && rc.campaign == def.ID && (def.Once || at.Before(rc.at.Add(def.Window))) {
			suppress(rule.ReasonNotReeligible)
			return
		}
	}
	due := dueAt(def.Delay, at) // from the trigger's time
	if !def.End.IsZero() && !due.Before(def.End) {
		suppress(rule.ReasonOutsideDuration)
		return
	}
	if def.Policy == rule.ReplaceWithLatest {
		for _, p := range waiting {
			m.remove(p)
			m.decide(ev.User, rule.Cancelled, rule.ReasonReplaced, def.ID, p.triggerID, p.due, p.attempts)
		}
	}
	m.pending = append(m.pending, &refPending{user: ev.User, campaign: def.ID, activation: f.activation,
		triggerID: ev.ID, triggerTime: at, due: due, ready: due})
	var reason rule.Reason
	if def.Delay.Kind != "now" && due.Before(m.now) { // backdated: due at once
		reason = rule.ReasonLate
	}
	m.decide(ev.User, rule.Scheduled, reason, def.ID, ev.ID, due, 0)
}

// advanceTo moves the clock like simulate.AdvanceTo: a tick now, then a
// stop and a tick at each due time up to target, then a tick at target.
func (m *refModel) advanceTo(target time.Time) {
	m.tick()
	for {
		next := m.nextDue()
		if next.IsZero() || next.After(target) {
			break
		}
		if next.After(m.now) {
			m.now = next
		}
		m.tick()
	}
	m.now = target
	m.tick()
}

// nextDue returns the earliest time a pending delivery may go, or zero.
func (m *refModel) nextDue() time.Time {
	var next time.Time
	for _, p := range m.pending {
		if next.IsZero() || p.ready.Before(next) {
			next = p.ready
		}
	}
	return next
}

// tick sends every delivery whose time has come: the follow-up must still
// be active in the activation that scheduled it; a refused send is retried
// with backoff, and fails after the last attempt; an accepted one is a
// receipt at the clock's time, with the message current at send time.
func (m *refModel) tick() {
	for _, p := range slices.Clone(m.pending) {
		if p.ready.After(m.now) {
			continue
		}
		f := m.find(p.campaign)
		if f == nil || f.state != rule.Active || f.activation != p.activation {
			m.remove(p)
			m.decide(p.user, rule.Cancelled, rule.ReasonCampaignStopped, p.campaign, p.triggerID, p.due, p.attempts)
			continue
		}
		p.attempts++
		refused := senderRefuses(m.sc, p.user, p.campaign, p.triggerID, p.triggerTime, p.attempts)
		m.out.attempts = append(m.out.attempts, obsAttempt{User: p.user, Campaign: p.campaign, At: m.now,
			Attempt: p.attempts, Message: f.def.Message, DueAt: p.due, TriggerID: p.triggerID,
			TriggerTime: p.triggerTime, Refused: refused})
		switch {
		case !refused:
			m.remove(p)
			m.setReceipt(p.user, p.campaign)
			m.decide(p.user, rule.Delivered, "", p.campaign, p.triggerID, p.due, p.attempts)
		case p.attempts >= refMaxAttempts:
			m.remove(p)
			m.decide(p.user, rule.Failed, rule.ReasonSendError, p.campaign, p.triggerID, p.due, p.attempts)
		default:
			wait := refRetryBase
			for i := 1; i < p.attempts; i++ {
				wait *= 2
			}
			p.ready = m.now.Add(min(wait, refRetryMax))
			m.decide(p.user, rule.Retried, rule.ReasonSendError, p.campaign, p.triggerID, p.due, p.attempts)
		}
	}
}

func (m *refModel) setReceipt(user, campaign string) {
	for i := range m.receipts {
		if m.receipts[i].user == user && m.receipts[i].campaign == campaign {
			m.receipts[i].at = m.now
			return
		}
	}
	m.receipts = append(m.receipts, refReceipt{user: user, campaign: campaign, at: m.now})
}

func (m *refModel) remove(p *refPending) {
	m.pending = slices.DeleteFunc(m.pending, func(q *refPending) bool { return q == p })
}

func (m *refModel) decide(user string, kind rule.DecisionKind, reason rule.Reason, campaign, eventID string, due time.Time, attempt int) {
	m.out.decisions = append(m.out.decisions, obsDecision{User: user, Kind: kind, Reason: reason,
		Campaign: campaign, EventID: eventID, At: m.now, DueAt: due, Attempt: attempt})
}

// firstMatch returns the index of the first matcher that selects ev, or -1:
// same kind and campaign, the target and name when set, the condition.
func firstMatch(ms []genMatcher, ev genEvent) int {
	for i, x := range ms {
		if x.Kind != ev.Kind || x.Campaign != ev.Campaign ||
			(x.Target != "" && x.Target != ev.Target) || (x.Name != "" && x.Name != ev.Name) {
			continue
		}
		if x.Cond != nil {
			if !ev.HasPrice {
				continue
			}
			p, v := ev.Price, float64(x.Cond.Value)
			ok := map[rule.Operator]bool{rule.OpGreater: p > v, rule.OpGreaterOrEqual: p >= v, rule.OpLess: p < v, rule.OpLessOrEqual: p <= v, rule.OpEqual: p == v}[x.Cond.Op]
			if !ok {
				continue
			}
		}
		return i
	}
	return -1
}

// dueAt computes a due time from the trigger's time, on the UTC
// calendar (the engine's default location; users have no zone here).
func dueAt(d genDelay, at time.Time) time.Time {
	y, mo, day := at.UTC().Date()
	switch d.Kind {
	case "after":
		return at.Add(d.After)
	case "days":
		return time.Date(y, mo, day+d.Days, d.Hour, d.Minute, 0, 0, time.UTC)
	case "weekday": // strictly after the trigger's date: a week later on that weekday
		for k := 1; ; k++ {
			if date := time.Date(y, mo, day+k, d.Hour, d.Minute, 0, 0, time.UTC); date.Weekday() == d.Weekday {
				return date
			}
		}
	}
	return at
}
