// Package connectortest helps hosts unit-test their campaign logic, the way
// rivertest helps test river jobs: [New] returns a [Harness] with a mock
// clock, a memory store, a recording sender and a decision log, plus
// helpers to apply (or save and publish) campaigns, track events, move
// time (running the deliveries that fall due on the way), and assertions
// that fail with a readable timeline of what happened.
//
//	h := connectortest.New(t)
//	h.Apply(rule.Campaign{ID: "newsletter"}, rule.Campaign{
//		ID:       "resend",
//		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
//		Delay:    rule.After(7 * 24 * time.Hour),
//	})
//	h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
//	h.Advance(7 * 24 * time.Hour)
//	h.RequireSent("ann", "resend")
//
// Every helper takes the harness's testing.TB and fails the test (with
// t.Fatalf) on any unexpected error. A harness belongs to the test that
// built it: a subtest, parallel or not, builds its own, since subtests
// sharing one share its clock, and a failure from a subtest would be
// reported on the parent from the subtest's goroutine.
package connectortest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
)

// Start is where every harness's clock starts: Monday 5 January 2026,
// 00:00 UTC.
var Start = time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)

// Harness is an engine wired for tests: a [simulate.Simulator] whose
// helpers fail the test instead of returning errors. The simulator's fields
// (Clock, Store, Engine, Sender) are ready to use directly when the helpers
// do not cover a case.
type Harness struct {
	*simulate.Simulator
	// T is the test the harness was built for: its helpers report to it,
	// and fail it.
	T testing.TB
}

// New returns a harness whose clock is at [Start]. opts are passed to
// connector.New after the harness's own (mock clock, decision recorder, a
// decision log of 1,000 entries per user kept 400 days, and a retry policy
// of 3 attempts 1 minute apart doubling, without jitter), so they can
// override them.
func New(t testing.TB, opts ...connector.Option) *Harness {
	t.Helper()
	base := []connector.Option{
		connector.WithDecisionLog(1000, 400*24*time.Hour),
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Minute, Max: time.Hour}),
	}
	sim, err := simulate.New(Start, append(base, opts...)...)
	if err != nil {
		t.Fatalf("connectortest: connector.New: %v", err)
	}
	return &Harness{Simulator: sim, T: t}
}

// Save saves campaigns, failing the test on error.
func (h *Harness) Save(campaigns ...rule.Campaign) {
	h.T.Helper()
	for _, c := range campaigns {
		if err := h.Simulator.Save(c); err != nil {
			h.T.Fatalf("connectortest: Save(%q): %v", c.ID, err)
		}
	}
}

// Apply brings the engine's campaigns to the set given and publishes them,
// as [connector.Engine.Apply] does at a host's start, failing the test on
// error: the way to test campaigns a host defines in code or files. It
// passes no options: to test a start with [connector.KeepStopped] or
// [connector.StopOthers], call h.Engine.Apply with them.
func (h *Harness) Apply(campaigns ...rule.Campaign) {
	h.T.Helper()
	if err := h.Engine.Apply(context.Background(), campaigns); err != nil {
		h.T.Fatalf("connectortest: Apply: %v", err)
	}
}

// Publish publishes campaigns in the order given, failing the test on error.
func (h *Harness) Publish(ids ...string) {
	h.T.Helper()
	for _, id := range ids {
		if err := h.Simulator.Publish(id); err != nil {
			h.T.Fatalf("connectortest: Publish(%q): %v", id, err)
		}
	}
}

// Stop stops campaign id, failing the test on error.
func (h *Harness) Stop(id string) {
	h.T.Helper()
	if err := h.Engine.Stop(context.Background(), id); err != nil {
		h.T.Fatalf("connectortest: Stop(%q): %v", id, err)
	}
}

// Archive archives campaign id, failing the test on error.
func (h *Harness) Archive(id string) {
	h.T.Helper()
	if err := h.Engine.Archive(context.Background(), id); err != nil {
		h.T.Fatalf("connectortest: Archive(%q): %v", id, err)
	}
}

// Track tracks events, failing the test on error, one after the other in
// the order given, as separate calls of the engine's Track: an exception
// stamped in its trigger's second cancels when it comes after the trigger
// in the list, and finds nothing to cancel before it. An event with a zero Time
// happens now on the harness clock. An event stamped after the harness
// clock's now is tracked as given (the engine judges it by its stamp, so
// its delays count from then, unless connector.WithMaxTriggerLead refuses
// it as a trigger), and the test's log says so: most often a stamp meant
// for a later step, before which the clock was not advanced.
func (h *Harness) Track(events ...event.Event) {
	h.T.Helper()
	for _, ev := range events {
		if now := h.Clock.Now(); ev.Time.After(now) {
			h.T.Logf("connectortest: Track: %s of %q by %q is stamped %s, %v after the harness clock (%s): "+
				"the engine judges it by its stamp (a trigger further ahead than connector.WithMaxTriggerLead, if given, is suppressed); "+
				"Advance or AdvanceTo first?",
				ev.Kind, ev.CampaignID, ev.UserID, ev.Time.UTC().Format(time.RFC3339), ev.Time.Sub(now), now.UTC().Format(time.RFC3339))
		}
		if err := h.Simulator.Track(ev); err != nil {
			h.T.Fatalf("connectortest: Track(%s %s of %q): %v", ev.UserID, ev.Kind, ev.CampaignID, err)
		}
	}
}

// TrackAt tracks ev stamped at time at (which may be in the past: a
// backdated or late event).
func (h *Harness) TrackAt(at time.Time, ev event.Event) {
	h.T.Helper()
	ev.Time = at
	h.Track(ev)
}

// Tick sends what is due now and returns how many deliveries were accepted.
func (h *Harness) Tick() int {
	h.T.Helper()
	n, err := h.Simulator.Tick()
	if err != nil {
		h.T.Fatalf("connectortest: Tick: %v", err)
	}
	return n
}

// Advance moves the clock forward by d and returns how many deliveries were
// accepted on the way, sending each at its due time (see
// [simulate.Simulator.AdvanceTo]). A negative d fails the test, naming
// the time the clock is at: the clock only moves forward.
func (h *Harness) Advance(d time.Duration) int {
	h.T.Helper()
	n, err := h.Simulator.Advance(d)
	if err != nil {
		h.T.Fatalf("connectortest: Advance(%v): %s%v", d, h.backwards(err, h.Now().Add(d)), err)
	}
	return n
}

// AdvanceTo moves the clock forward to target like [Harness.Advance]; a
// target before the clock fails the test, naming the time the clock is
// at and how far before it target lies.
func (h *Harness) AdvanceTo(target time.Time) int {
	h.T.Helper()
	n, err := h.Simulator.AdvanceTo(target)
	if err != nil {
		h.T.Fatalf("connectortest: AdvanceTo(%s): %s%v", target.Format(time.RFC3339), h.backwards(err, target), err)
	}
	return n
}

// backwards is "", unless err is a move of the clock to target refused as
// going back ([simulate.ErrTimeTravel]): then it says where the harness
// clock is, how far target lies before it, and how a test tracks what
// happened earlier, ending in ": ", for err to follow. A zero target is
// named as such: the time between lies past what a time.Duration holds.
func (h *Harness) backwards(err error, target time.Time) string {
	if !errors.Is(err, simulate.ErrTimeTravel) {
		return ""
	}
	now := h.Now()
	if target.IsZero() {
		return fmt.Sprintf("the clock only moves forward; it is at %s, and the time asked is the zero time.Time (one left unset?): ",
			now.UTC().Format("Mon "+time.RFC3339Nano))
	}
	return fmt.Sprintf("the clock only moves forward; it is at %s, %v after the time asked "+
		"(TrackAt tracks an event that happened earlier): ",
		now.UTC().Format("Mon "+time.RFC3339Nano), now.Sub(target))
}

// MoveTo moves the clock forward to target like [Harness.AdvanceTo], but
// leaves what falls due at target itself waiting, for the next Tick or
// Advance (see [simulate.Simulator.MoveTo]): an event tracked next comes
// in the instant those deliveries fall due, while they still wait.
func (h *Harness) MoveTo(target time.Time) int {
	h.T.Helper()
	n, err := h.Simulator.MoveTo(target)
	if err != nil {
		h.T.Fatalf("connectortest: MoveTo(%s): %s%v", target.Format(time.RFC3339), h.backwards(err, target), err)
	}
	return n
}

// DecisionsFor returns the decisions about userID and campaignID, in the
// order they were observed, as a new slice (nil when there is none).
func (h *Harness) DecisionsFor(userID, campaignID string) []rule.Decision {
	var out []rule.Decision
	for _, d := range h.Decisions() {
		if d.UserID == userID && d.CampaignID == campaignID {
			out = append(out, d)
		}
	}
	return out
}

// Explain returns why userID got, or did not get, campaignID, as
// [connector.Engine.Explain] says it from the harness's decision log; an
// error fails the test. Its String is the explanation in words. A
// campaignID no campaign saved has nothing to explain, and its "no
// decision recorded" reads like a user nothing triggered: Explain says so
// in the test's log, naming the campaigns the engine knows (a misspelt
// ID), without failing the test, as [Harness.RequireNotSent] does. It
// logs too the campaigns no one saved that userID's events named, which
// the engine ignored (unknown_campaign) and the explanation cannot show.
func (h *Harness) Explain(userID, campaignID string) connector.Explanation {
	h.T.Helper()
	x, err := h.Engine.Explain(context.Background(), userID, campaignID)
	if err != nil {
		h.T.Fatalf("connectortest: Explain(%q, %q): %v", userID, campaignID, err)
	}
	if x.CampaignUnknown {
		if line, ok := h.unknownCampaign(campaignID); ok {
			h.T.Logf("connectortest: Explain(%q, %q): no campaign %s", userID, campaignID, line)
		}
	}
	var b strings.Builder
	h.unknownEvents(&b, userID)
	if b.Len() > 0 {
		h.T.Logf("connectortest: Explain(%q, %q): %s", userID, campaignID, strings.TrimSuffix(b.String(), "\n"))
	}
	return x
}

// SentTo returns the accepted deliveries of campaignID to userID, in the
// order they were sent, as a new slice (nil when there is none).
func (h *Harness) SentTo(userID, campaignID string) []connector.Delivery {
	var out []connector.Delivery
	for _, d := range h.Sent() {
		if d.UserID == userID && d.CampaignID == campaignID {
			out = append(out, d)
		}
	}
	return out
}

// RequireSent asserts that campaignID was delivered to userID exactly once
// and returns that delivery. Like every assertion that expects something
// to have happened, its failure names the user's deliveries of campaignID
// that are due but were never ticked (the clock moved by h.Clock, or an
// immediate follow-up tracked, without h.Tick or h.Advance after), those
// still waiting for a time the clock has not reached (with how far to
// advance it), and says so when campaignID is no campaign the engine
// knows or no decision concerns userID (a misspelt ID). It names too the
// campaigns no one saved that userID's events named (a misspelt
// CampaignID in the test's events), and, when nothing was decided about
// the pair, a trigger of campaignID on the receipt of a follow-up userID
// was sent: the engine reports no receipt of its own sends, so a chain
// ("B when A is received") needs the test to track A's receipt.
func (h *Harness) RequireSent(userID, campaignID string) connector.Delivery {
	h.T.Helper()
	got := h.SentTo(userID, campaignID)
	if len(got) != 1 {
		h.T.Fatalf("connectortest: want %q delivered to %q once, got %d times\n%s%s", campaignID, userID, len(got),
			h.hints(userID, campaignID), h.Timeline())
		return connector.Delivery{}
	}
	return got[0]
}

// RequireSentAt asserts that campaignID was delivered to userID exactly
// once, at time at (the clock when the sender accepted it). Its failure
// gives both times in at's location, as the test wrote it (a user's
// local 09:00, say), and how far apart they are; when the delivery never
// came, or came more than once, it says what [Harness.RequireSent] says,
// with the time wanted and those of the deliveries in that location.
func (h *Harness) RequireSentAt(userID, campaignID string, at time.Time) connector.Delivery {
	h.T.Helper()
	if got := h.SentTo(userID, campaignID); len(got) != 1 {
		sent := ""
		seen := map[string]int{} // acceptances of each ID so far
		for i, d := range got {
			sep := ", "
			if i == 0 {
				sep = "; sent at "
			}
			// A delivery accepted twice under one ID (a duplicate send)
			// is listed twice: each with the time of its own acceptance.
			var t time.Time
			if times := h.Sender.SentTimes(d.ID); seen[d.ID] < len(times) {
				t = times[seen[d.ID]]
			}
			seen[d.ID]++
			sent += sep + stampIn(t, at.Location())
		}
		h.T.Fatalf("connectortest: want %q delivered to %q once, got %d times\nwant it at %s%s\n%s%s", campaignID, userID,
			len(got), stampIn(at, at.Location()), sent, h.hints(userID, campaignID), h.Timeline())
		return connector.Delivery{}
	}
	d := h.RequireSent(userID, campaignID)
	if sentAt := h.Sender.SentAt(d.ID); !sentAt.Equal(at) {
		h.T.Fatalf("connectortest: want %q delivered to %q at %s, got %s (%s)\n%s", campaignID, userID,
			stampIn(at, at.Location()), stampIn(sentAt, at.Location()), apart(sentAt, at), h.Timeline())
	}
	return d
}

// stampIn formats t in loc: in UTC as the timeline does, elsewhere with
// the zone's offset and abbreviation, and UTC after it, so that a local
// time reads as the test wrote it and still matches the timeline.
func stampIn(t time.Time, loc *time.Location) string {
	if loc == time.UTC {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return t.In(loc).Format("2006-01-02T15:04:05.999999999-07:00 MST") + " = " + t.UTC().Format(time.RFC3339Nano)
}

// apart says how far got is from want: "1h0m0s early" or "1h0m0s late".
func apart(got, want time.Time) string {
	if got.Before(want) {
		return want.Sub(got).String() + " early"
	}
	return got.Sub(want).String() + " late"
}

// RequireSentTimes asserts that campaignID was delivered to userID n times.
func (h *Harness) RequireSentTimes(userID, campaignID string, n int) {
	h.T.Helper()
	if got := len(h.SentTo(userID, campaignID)); got != n {
		h.T.Fatalf("connectortest: want %q delivered to %q %d times, got %d\n%s%s", campaignID, userID, n, got,
			h.hints(userID, campaignID), h.Timeline())
	}
}

// RequireNotSent asserts that campaignID was never delivered to userID.
// It passes about a campaign no one saved (a misspelt ID), and says so in
// the test's log. It also passes while a delivery to userID of campaignID
// still waits, as it may yet be sent; it then says in the test's log when
// that delivery is next tried, or that it is due and nothing ticked since.
// A delivery held out in the control group is never sent, and is not
// logged. Its failure, and that log, name the campaigns no one saved that
// userID's events named: an exception's event with a misspelt CampaignID
// cancels nothing.
func (h *Harness) RequireNotSent(userID, campaignID string) {
	h.T.Helper()
	if got := h.SentTo(userID, campaignID); len(got) != 0 {
		var b strings.Builder
		h.unknownEvents(&b, userID)
		h.T.Fatalf("connectortest: want %q never delivered to %q, got %s\n%s%s", campaignID, userID, plural(len(got), "delivery", "deliveries"), b.String(), h.Timeline())
	}
	h.logUnknownCampaign("RequireNotSent", campaignID)
	h.logStillWaiting("RequireNotSent", userID, campaignID)
}

// RequireNothingSent asserts that no delivery at all was accepted.
func (h *Harness) RequireNothingSent() {
	h.T.Helper()
	if got := h.Sent(); len(got) != 0 {
		h.T.Fatalf("connectortest: want no delivery, got %d\n%s", len(got), h.Timeline())
	}
}

// RequireReason asserts that a decision of kind with reason was taken about
// userID and campaignID, and returns the last such decision. reason ""
// matches any reason. Its failure says what [Harness.RequireSent]'s
// does; for [rule.Converted], also when userID has no conversion window
// of campaignID open, which only a tracked receipt of it opens; and when
// kind is no decision kind, or reason none of [rule.Reasons], with the
// one it most likely misspells ("did you mean "cancelled"?").
func (h *Harness) RequireReason(userID, campaignID string, kind rule.DecisionKind, reason rule.Reason) rule.Decision {
	h.T.Helper()
	var found *rule.Decision
	for _, d := range h.DecisionsFor(userID, campaignID) {
		if d.Kind == kind && (reason == "" || d.Reason == reason) {
			found = &d
		}
	}
	if found == nil {
		want := string(kind)
		if reason != "" {
			want += " (" + string(reason) + ")"
		}
		var conv strings.Builder
		for _, n := range []string{kindNote(kind), reasonNote(reason)} {
			if n != "" {
				conv.WriteString(n + ": no decision can match\n")
			}
		}
		if kind == rule.Converted {
			h.noConversionWindow(&conv, userID, campaignID)
		}
		h.T.Fatalf("connectortest: want a %s decision about %q for %q\n%s%s%s", want, campaignID, userID,
			conv.String(), h.hints(userID, campaignID), h.Timeline())
		return rule.Decision{}
	}
	return *found
}

// RequireNoReason asserts that no decision of kind with reason was taken
// about userID and campaignID (reason "" matches any reason). Like
// [Harness.RequireNotSent], it logs that campaignID is no campaign saved.
// A kind that is not one of rule's decision kinds, "" among them, or a
// reason other than "" that is none of [rule.Reasons], fails the test,
// naming the kind or reason it most likely misspells: it would match no
// decision, and the assertion could never fail. For no decision at all,
// call [Harness.RequireKinds] with no kinds.
func (h *Harness) RequireNoReason(userID, campaignID string, kind rule.DecisionKind, reason rule.Reason) {
	h.T.Helper()
	if n := kindNote(kind); n != "" {
		h.T.Fatalf("connectortest: RequireNoReason(%q, %q, %q, %q): %s, and would match no decision "+
			"(for no decision at all, call RequireKinds(%q, %q) with no kinds)", userID, campaignID, kind, reason, n, userID, campaignID)
		return
	}
	if n := reasonNote(reason); n != "" {
		h.T.Fatalf("connectortest: RequireNoReason(%q, %q, %q, %q): %s, and would match no decision "+
			"(for no %s decision at all, pass reason \"\")", userID, campaignID, kind, reason, n, kind)
		return
	}
	for _, d := range h.DecisionsFor(userID, campaignID) {
		if d.Kind == kind && (reason == "" || d.Reason == reason) {
			want := string(kind)
			if reason != "" {
				want += " (" + string(reason) + ")"
			}
			h.T.Fatalf("connectortest: want no %s decision about %q for %q, got %s\n%s", want, campaignID, userID, d, h.Timeline())
			return
		}
	}
	h.logUnknownCampaign("RequireNoReason", campaignID)
}

// plural is n and one, or n and many when n is not 1: "1 delivery".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// decisionKinds is every kind of decision the engine takes.
var decisionKinds = rule.DecisionKinds()

// RequireKinds asserts the exact sequence of decisions about userID and
// campaignID, each written as its kind and reason, "suppressed/already_pending",
// or as its kind alone when it has no reason ("scheduled", "delivered"). A
// kind alone does not match a decision that has a reason: "ignored" does not
// match "ignored/after_due". With no kinds it asserts that nothing was
// decided about the pair and, like [Harness.RequireNotSent], logs that
// campaignID is no campaign saved; an entry "" matches no decision. Its failure names the entries of want
// that no decision can match, a kind or a reason that does not exist,
// with the one each most likely misspells ("canceled": did you mean
// "cancelled"?), and says what [Harness.RequireSent]'s does.
func (h *Harness) RequireKinds(userID, campaignID string, want ...string) {
	h.T.Helper()
	var got []string
	for _, d := range h.DecisionsFor(userID, campaignID) {
		s := string(d.Kind)
		if d.Reason != "" {
			s += "/" + string(d.Reason)
		}
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		var notes strings.Builder
		entryNotes(&notes, want)
		h.T.Fatalf("connectortest: decisions about %q for %q:\n want %v\n  got %v\n%s%s%s", campaignID, userID, want, got,
			notes.String(), h.hints(userID, campaignID), h.Timeline())
	}
	if len(want) == 0 {
		h.logUnknownCampaign("RequireKinds", campaignID)
	}
}
