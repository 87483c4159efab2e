package simulate_test

import (
	"errors"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/campaignconnector/campaignconnector/store"
)

// MoveTo sends what falls due before its target, at its due time, and
// leaves what falls due at the target waiting: an event tracked then
// meets the delivery still pending, and the next Tick sends it.
func TestMoveToLeavesWhatIsDueAtTheTargetWaiting(t *testing.T) {
	sim := hourLater(t) // ann's "b" due at 10:00
	if _, err := sim.Advance(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := sim.Track(event.Event{UserID: "bob", Kind: event.EmailOpened, CampaignID: "a"}); err != nil {
		t.Fatal(err)
	}
	annDue, due := sim.Now().Add(time.Hour-time.Second), sim.Now().Add(time.Hour) // bob's at 10:00:01
	n, err := sim.MoveTo(due)
	if err != nil || n != 1 {
		t.Fatalf("MoveTo(due) = %d, %v; want ann's delivery, due a second before, sent", n, err)
	}
	if sent := sim.Sent(); len(sent) != 1 || sent[0].UserID != "ann" || !sim.Sender.SentAt(sent[0].ID).Equal(annDue) {
		t.Fatalf("sent %v, want ann's at %s", sent, annDue)
	}
	if !sim.Now().Equal(due) {
		t.Fatalf("the clock is at %s, want the target %s", sim.Now(), due)
	}
	// Bob opens again at his delivery's due time: the engine sees it
	// pending (a trigger while one waits is suppressed), and the next
	// Tick sends it, at its due time.
	if err := sim.Track(event.Event{UserID: "bob", Kind: event.EmailOpened, CampaignID: "a"}); err != nil {
		t.Fatal(err)
	}
	if n, err := sim.Tick(); err != nil || n != 1 {
		t.Fatalf("Tick after MoveTo = %d, %v; want bob's delivery sent", n, err)
	}
	if sent := sim.Sent(); len(sent) != 2 || sent[1].UserID != "bob" || !sim.Sender.SentAt(sent[1].ID).Equal(due) {
		t.Errorf("sent %v, want bob's at its due time %s", sent, due)
	}
	var suppressed bool
	for _, d := range sim.Decisions() {
		if d.UserID == "bob" && d.Kind == rule.Suppressed && d.Reason == rule.ReasonAlreadyPending {
			suppressed = true
		}
	}
	if !suppressed {
		t.Errorf("the open at the due time did not meet the pending delivery: %v", sim.Decisions())
	}
}

// MoveTo refuses what AdvanceTo refuses, leaving the clock where it is,
// and does nothing at the clock's own time.
func TestMoveToRefusesBeforeMoving(t *testing.T) {
	sim := hourLater(t)
	start := sim.Now()
	if _, err := sim.MoveTo(start.Add(-time.Nanosecond)); !errors.Is(err, simulate.ErrTimeTravel) {
		t.Errorf("MoveTo into the past = %v, want ErrTimeTravel", err)
	}
	if _, err := sim.MoveTo(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, store.ErrTimeRange) {
		t.Errorf("MoveTo past 2262 = %v, want store.ErrTimeRange", err)
	}
	if n, err := sim.MoveTo(start); n != 0 || err != nil {
		t.Errorf("MoveTo(now) = %d, %v; want nothing", n, err)
	}
	if !sim.Now().Equal(start) {
		t.Errorf("the clock moved to %s", sim.Now())
	}
	// From the Sender, while a send is in flight: ErrBusy.
	var inner error
	sim.Sender.Fail = func(connector.Delivery) error {
		_, inner = sim.MoveTo(sim.Now().Add(time.Minute))
		return nil
	}
	if _, err := sim.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(inner, simulate.ErrBusy) {
		t.Errorf("MoveTo from the Sender = %v, want ErrBusy", inner)
	}
}

// What a tick on the way makes due at the target (a retry, a quiet-hours
// deferral) waits as what was due there from the start does, and a chain
// of hold-outs due at the target is left whole: AdvanceTo the same
// target then runs it, its end sent at the target.
func TestMoveToLeavesWhatTheWayMakesDueAtTheTargetWaiting(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	target := start.Add(time.Hour + time.Minute)
	sim, err := simulate.New(start,
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Minute, Max: time.Hour}),
		connector.WithQuietHours(connector.QuietHours{From: rule.At(10, 0), To: rule.At(10, 1), Defer: true}))
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Apply(rule.Campaign{ID: "a"},
		rule.Campaign{ID: "b", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "a"}}, Delay: rule.After(time.Hour)},
		rule.Campaign{ID: "c", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "a"}}, Delay: rule.After(58 * time.Minute)},
		rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailClicked, CampaignID: "a"}},
			Delay: rule.After(time.Hour + time.Minute), ControlPercent: 100},
		rule.Campaign{ID: "survey", Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "f"}}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.Track(
		event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "a"},   // due 10:00, quiet until 10:01
		event.Event{UserID: "bob", Kind: event.EmailReceived, CampaignID: "a"}, // due 09:58, fails, 09:59 fails, 10:01
		event.Event{UserID: "cat", Kind: event.EmailClicked, CampaignID: "a"},  // held out at 10:01
	); err != nil {
		t.Fatal(err)
	}
	fails := 2
	sim.Sender.Fail = func(d connector.Delivery) error {
		if d.UserID == "bob" && fails > 0 {
			fails--
			return errors.New("down")
		}
		return nil
	}
	if n, err := sim.MoveTo(target); err != nil || n != 0 || len(sim.Sent()) != 0 || fails != 0 {
		t.Fatalf("MoveTo = %d, %v, sent %v, %d failures to come; want two failed attempts, nothing sent", n, err, sim.Sent(), fails)
	}
	for _, d := range sim.Decisions() {
		if d.Kind == rule.HeldOut {
			t.Errorf("a hold-out due at the target was decided by MoveTo: %s", d)
		}
	}
	if n, err := sim.AdvanceTo(target); err != nil || n != 3 {
		t.Fatalf("AdvanceTo(target) after MoveTo = %d, %v; want ann's, bob's and cat's survey sent", n, err)
	}
	for _, d := range sim.Sent() {
		if at := sim.Sender.SentAt(d.ID); !at.Equal(target) {
			t.Errorf("%s of %s sent at %s, want the target %s", d.CampaignID, d.UserID, at, target)
		}
	}
}
