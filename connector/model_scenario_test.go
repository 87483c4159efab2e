package connector_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// TestModel's scenarios: plain data (campaign definitions and a list of
// operations) that the engine and the reference model both consume, with
// its text form; and the reports: outcomes as text, the divergence,
// shrinking, and the statistics of what the scenarios covered.

// genMatcher is a trigger or an exception: the fields that select events.
type genMatcher struct {
	Kind     event.Kind
	Campaign string // interactions only
	Target   string // "" matches any sub-selector
	Name     string // custom event name, or product ("" matches any purchase)
	Cond     *genCond
}

// genCond is a numeric condition on the "price" property.
type genCond struct {
	Op    rule.Operator // OpGreater, OpGreaterOrEqual, OpLess, OpLessOrEqual or OpEqual
	Value int
}

// genDelay is one of the delays of rule.Delay.
type genDelay struct {
	Kind         string // "now", "after", "days", "weekday"
	After        time.Duration
	Days         int
	Weekday      time.Weekday
	Hour, Minute int
}

// genCampaign is an original (no triggers) or a follow-up.
type genCampaign struct {
	ID         string
	Triggers   []genMatcher
	Exceptions []genMatcher
	Delay      genDelay
	Once       bool          // once only; else re-eligible after Window
	Window     time.Duration // re-eligibility window, may be 0
	Start, End time.Time     // zero: unbounded
	Policy     rule.PendingPolicy
	Message    string
}

// genEvent is an event as the host tracks it. Price is set when HasPrice.
type genEvent struct {
	ID, User string
	Kind     event.Kind
	Campaign string
	Target   string
	Name     string
	HasPrice bool
	Price    float64
	Time     time.Time // zero: now
	RetryOf  int       // index of the op whose event this repeats (a provider retry), or -1
}

type opKind int

const (
	opSave opKind = iota // save a definition: a new campaign or an edit
	opPublish
	opStop
	opArchive
	opTrack
	opAdvance
)

type genOp struct {
	Kind    opKind
	Camp    genCampaign   // opSave
	ID      string        // opPublish, opStop, opArchive
	Event   genEvent      // opTrack
	Advance time.Duration // opAdvance
}

type scenario struct {
	Seed    int64
	Start   time.Time
	FailPct int  // share of send attempts the sender refuses
	NoPrune bool // the engine never prunes (see genRestrictions)
	Batched bool // the engine gets each run of consecutive events in one TrackAll
	Ops     []genOp
}

func (m genMatcher) String() string {
	s := string(m.Kind)
	if m.Campaign != "" {
		s += " of " + m.Campaign
	}
	if m.Target != "" {
		s += " [" + m.Target + "]"
	}
	if m.Name != "" {
		s += " " + m.Name
	}
	if m.Cond != nil {
		s += fmt.Sprintf(" where price %s %d", m.Cond.Op, m.Cond.Value)
	}
	return s
}

func (d genDelay) String() string {
	switch d.Kind {
	case "after":
		return "after " + d.After.String()
	case "days":
		return fmt.Sprintf("in %d days at %02d:%02d", d.Days, d.Hour, d.Minute)
	case "weekday":
		return fmt.Sprintf("next %s at %02d:%02d", d.Weekday, d.Hour, d.Minute)
	}
	return "immediately"
}

func (c genCampaign) describe(start time.Time) string {
	if len(c.Triggers) == 0 {
		return fmt.Sprintf("%s: original, message %s", c.ID, c.Message)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: triggers [%s], %s", c.ID, joinMatchers(c.Triggers), c.Delay)
	if len(c.Exceptions) > 0 {
		fmt.Fprintf(&b, ", exceptions [%s]", joinMatchers(c.Exceptions))
	}
	if c.Once {
		b.WriteString(", once only")
	} else {
		fmt.Fprintf(&b, ", re-eligible after %v", c.Window)
	}
	if !c.Start.IsZero() {
		fmt.Fprintf(&b, ", start %s", rel(start, c.Start))
	}
	if !c.End.IsZero() {
		fmt.Fprintf(&b, ", end %s", rel(start, c.End))
	}
	if c.Policy != rule.KeepFirst {
		fmt.Fprintf(&b, ", %s", c.Policy)
	}
	fmt.Fprintf(&b, ", message %s", c.Message)
	return b.String()
}

func joinMatchers(ms []genMatcher) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.String()
	}
	return strings.Join(s, "; ")
}

// rel renders t relative to the scenario's start: "T+1d02:30", "T-0d05:00".
func rel(start, t time.Time) string {
	d, sign := t.Sub(start), "+"
	if d < 0 {
		d, sign = -d, "-"
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	s := fmt.Sprintf("T%s%dd%02d:%02d", sign, days, d/time.Hour, (d%time.Hour)/time.Minute)
	if sec := d % time.Minute; sec != 0 {
		s += fmt.Sprintf(":%02d", sec/time.Second)
	}
	return s
}

func (ev genEvent) describe(start time.Time) string {
	s := fmt.Sprintf("track %s %s", ev.User, ev.Kind)
	if ev.Campaign != "" {
		s += " of " + ev.Campaign
	}
	if ev.Target != "" {
		s += " [" + ev.Target + "]"
	}
	if ev.Name != "" {
		s += " " + ev.Name
	}
	if ev.HasPrice {
		s += fmt.Sprintf(" price=%v", ev.Price)
	}
	if ev.ID != "" {
		s += " id=" + ev.ID
	}
	if ev.Time.IsZero() {
		s += " at now (zero time)"
	} else {
		s += " at " + rel(start, ev.Time)
	}
	if ev.RetryOf >= 0 {
		s += fmt.Sprintf(" (retry of #%d)", ev.RetryOf)
	}
	return s
}

// describe prints the scenario as a numbered list of operations, with the
// clock before each.
func (sc scenario) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario seed=%d start=%s (%s, T+0d00:00) sender refuses %d%% of attempts",
		sc.Seed, sc.Start.Format(time.RFC3339), sc.Start.Weekday(), sc.FailPct)
	if sc.NoPrune {
		b.WriteString(", engine never prunes")
	}
	if sc.Batched {
		b.WriteString(", consecutive events tracked together (TrackAll)")
	}
	b.WriteByte('\n')
	now := sc.Start
	for i, op := range sc.Ops {
		fmt.Fprintf(&b, "  #%-3d %-12s ", i, rel(sc.Start, now))
		switch op.Kind {
		case opSave:
			b.WriteString("save " + op.Camp.describe(sc.Start))
		case opPublish:
			b.WriteString("publish " + op.ID)
		case opStop:
			b.WriteString("stop " + op.ID)
		case opArchive:
			b.WriteString("archive " + op.ID)
		case opTrack:
			b.WriteString(op.Event.describe(sc.Start))
		case opAdvance:
			now = now.Add(op.Advance)
			fmt.Fprintf(&b, "advance %v (to %s)", op.Advance, rel(sc.Start, now))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func (d obsDecision) format(start time.Time) string {
	s := fmt.Sprintf("%s %s %s", rel(start, d.At), orDash(d.User), d.Kind)
	if d.Reason != "" {
		s += "/" + string(d.Reason)
	}
	s += " " + d.Campaign
	if d.EventID != "" {
		s += " event=" + d.EventID
	}
	if !d.DueAt.IsZero() {
		s += " due=" + rel(start, d.DueAt)
	}
	if d.Attempt != 0 {
		s += fmt.Sprintf(" attempt=%d", d.Attempt)
	}
	return s
}

func (a obsAttempt) format(start time.Time) string {
	outcome := "accepted"
	if a.Refused {
		outcome = "refused"
	}
	return fmt.Sprintf("%s %s send %s attempt=%d %s message=%s due=%s trigger=%s@%s",
		rel(start, a.At), a.User, a.Campaign, a.Attempt, outcome, a.Message, rel(start, a.DueAt),
		orDash(a.TriggerID), rel(start, a.TriggerTime))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// lines renders an observation as sorted lines (a multiset), the error first.
func (o observed) lines(start time.Time) []string {
	var out []string
	if o.err != "" {
		out = append(out, "error "+o.err)
	}
	var rest []string
	for _, d := range o.decisions {
		rest = append(rest, d.format(start))
	}
	for _, a := range o.attempts {
		rest = append(rest, a.format(start))
	}
	sort.Strings(rest)
	next := "none"
	if !o.nextDue.IsZero() {
		next = rel(start, o.nextDue)
	}
	return append(append(out, rest...), "next due "+next)
}

// divergence is where a scenario's engine and model first disagreed.
type divergence struct {
	op       int
	diff     []string // "- " model only, "+ " engine only, "  " both
	timeline []string // what the engine did before, per operation
}

func (d *divergence) report(sc *scenario) string {
	var b strings.Builder
	b.WriteString(sc.describe())
	if len(d.timeline) > 0 {
		b.WriteString("engine timeline before the divergence:\n")
		for _, l := range d.timeline {
			b.WriteString("  " + l + "\n")
		}
	}
	fmt.Fprintf(&b, "diverged at operation #%d (- model only, + engine only):\n", d.op)
	for _, l := range d.diff {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// shrink removes operations, and simplifies definitions, while the
// scenario still diverges.
func shrink(sc scenario, restrict genRestrictions) scenario {
	fails := func(c scenario) bool { return restrict.allow(&c) && runScenario(&c, nil) != nil }
	for changed := true; changed; {
		changed = false
		for i := len(sc.Ops) - 1; i >= 0; i-- {
			if c := withoutOp(sc, i); fails(c) {
				sc, changed = c, true
			}
		}
		for i := len(sc.Ops) - 2; i >= 0; i-- { // two clock moves in a row as one
			if i+1 < len(sc.Ops) && sc.Ops[i].Kind == opAdvance && sc.Ops[i+1].Kind == opAdvance {
				c := withoutOp(sc, i+1)
				c.Ops[i].Advance += sc.Ops[i+1].Advance
				if fails(c) {
					sc, changed = c, true
				}
			}
		}
		for i, op := range sc.Ops {
			if op.Kind != opSave {
				continue
			}
			for _, simpler := range simplifications(op.Camp) {
				c := sc
				c.Ops = slices.Clone(sc.Ops)
				c.Ops[i].Camp = simpler
				if fails(c) {
					sc, changed = c, true
					break
				}
			}
		}
	}
	return sc
}

func withoutOp(sc scenario, i int) scenario {
	sc.Ops = slices.Delete(slices.Clone(sc.Ops), i, i+1)
	for k := range sc.Ops {
		switch r := &sc.Ops[k].Event.RetryOf; {
		case sc.Ops[k].Kind != opTrack:
		case *r == i:
			*r = -1
		case *r > i:
			*r--
		}
	}
	return sc
}

// simplifications returns c with one part less: a trigger, an exception,
// the start, the end, the pending policy.
func simplifications(c genCampaign) []genCampaign {
	var out []genCampaign
	for i := range c.Triggers {
		if len(c.Triggers) > 1 {
			s := c
			s.Triggers = slices.Delete(slices.Clone(c.Triggers), i, i+1)
			out = append(out, s)
		}
	}
	for i := range c.Exceptions {
		s := c
		s.Exceptions = slices.Delete(slices.Clone(c.Exceptions), i, i+1)
		out = append(out, s)
	}
	if !c.Start.IsZero() {
		s := c
		s.Start = time.Time{}
		out = append(out, s)
	}
	if !c.End.IsZero() {
		s := c
		s.End = time.Time{}
		out = append(out, s)
	}
	if c.Policy != rule.KeepFirst {
		s := c
		s.Policy = rule.KeepFirst
		out = append(out, s)
	}
	return out
}

// modelStats counts the outcomes of the scenarios, to show (and check)
// what the generator covers.
type modelStats struct {
	mu     sync.Mutex
	counts map[string]int
}

// add counts what one operation produced on the engine side.
func (s *modelStats) add(_ int, o observed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	if o.err != "" {
		s.counts["error "+o.err]++
	}
	for _, d := range o.decisions {
		k := string(d.Kind)
		if d.Reason != "" {
			k += "/" + string(d.Reason)
		}
		s.counts[k]++
	}
	for _, c := range o.covered {
		s.counts[c]++
	}
	for _, a := range o.attempts {
		if a.Refused {
			s.counts["send/refused"]++
		} else {
			s.counts["send/accepted"]++
		}
	}
}

func (s *modelStats) summary() string {
	keys := make([]string, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, s.counts[k])
	}
	return strings.Join(parts, " ")
}

// requireCoverage fails if a run of many scenarios never produced one of
// the outcomes the generator is meant to reach.
func (s *modelStats) requireCoverage(t *testing.T) {
	for _, k := range []string{
		"scheduled", "scheduled/late", "suppressed/before_activation", "suppressed/original_not_active",
		"suppressed/outside_duration", "suppressed/already_pending", "suppressed/not_reeligible",
		"cancelled/exception", "cancelled/replaced", "cancelled/campaign_stopped", "duplicate/duplicate_event",
		coverSameInstant, "ignored/unknown_campaign", "ignored/before_trigger", "ignored/after_due",
		"delivered", "retried/send_error", "failed/send_error", "warning/draft_follow_up",
		"warning/delay_exceeds_duration", "send/accepted", "send/refused",
		"error " + errUnknown, "error " + errTransition,
	} {
		if s.counts[k] == 0 {
			t.Errorf("no scenario produced %q: the generator lost coverage", k)
		}
	}
}
