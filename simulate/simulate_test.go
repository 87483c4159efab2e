package simulate_test

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// resendSetup resends the newsletter a day after its receipt to those who
// did not open it.
func resendSetup() simulate.Setup {
	return simulate.Setup{Start: t0, Campaigns: []rule.Campaign{{ID: "newsletter"}, {
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(24 * time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
	}}, Publish: []string{"resend", "newsletter"}}
}

// A move the clock cannot make fails before anything happens: the
// simulator goes on from where it was.
func TestAdvanceRefusesBeforeMoving(t *testing.T) {
	sim, err := simulate.New(t0)
	require.NoError(t, err)
	setup := resendSetup()
	require.NoError(t, sim.Save(setup.Campaigns...))
	require.NoError(t, sim.Publish(setup.Publish...))
	require.NoError(t, sim.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}))

	n, err := sim.Advance(time.Duration(1<<63 - 1)) // to 2318
	require.ErrorIs(t, err, store.ErrTimeRange)
	require.ErrorContains(t, err, "AdvanceTo(2318-")
	require.Zero(t, n)
	n, err = sim.AdvanceTo(time.Date(2262, 4, 12, 0, 0, 0, 0, time.UTC))
	require.ErrorIs(t, err, store.ErrTimeRange)
	require.Zero(t, n)
	_, err = sim.Advance(-time.Second)
	require.ErrorIs(t, err, simulate.ErrTimeTravel)
	require.Equal(t, t0, sim.Now())
	require.Empty(t, sim.Sent())

	n, err = sim.Advance(48 * time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, t0.Add(24*time.Hour), sim.Sender.SentAt(sim.Sent()[0].ID))
}

// A hold-out emits control_group_enrolled, and a follow-up of it due at
// once is sent at that instant, as a running engine woken by it would:
// on the way to the target, and at the target itself.
func TestAdvanceSendsWhatAHoldOutTriggersAtOnce(t *testing.T) {
	for _, past := range []time.Duration{time.Minute, 0} {
		sim, err := simulate.New(t0)
		require.NoError(t, err)
		require.NoError(t, sim.Save(rule.Campaign{ID: "o"},
			rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}},
				Delay: rule.After(time.Hour), ControlPercent: 100},
			rule.Campaign{ID: "survey", Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "f"}}}))
		require.NoError(t, sim.Publish("survey", "f", "o"))
		require.NoError(t, sim.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "o"}))

		n, err := sim.AdvanceTo(t0.Add(time.Hour + past))
		require.NoError(t, err)
		require.Equal(t, 1, n, "advanced %v past the hold-out", past)
		sent := sim.Sent()
		require.Len(t, sent, 1)
		require.Equal(t, "survey", sent[0].CampaignID)
		require.Equal(t, t0.Add(time.Hour), sim.Sender.SentAt(sent[0].ID), "advanced %v past the hold-out", past)
	}
}

// Apply applies a set as a host does at its start: every campaign active,
// and applying it again changes nothing (the pending delivery stays).
func TestApplyActivatesTheSet(t *testing.T) {
	sim, err := simulate.New(t0)
	require.NoError(t, err)
	setup := resendSetup()
	require.NoError(t, sim.Apply(setup.Campaigns...))
	require.NoError(t, sim.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}))
	require.NoError(t, sim.Apply(setup.Campaigns...))
	n, err := sim.Advance(48 * time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, t0.Add(24*time.Hour), sim.Sender.SentAt(sim.Sent()[0].ID))
	require.Error(t, sim.Apply(rule.Campaign{ID: "bad", Triggers: []rule.Trigger{{Kind: "nope", CampaignID: "newsletter"}}}))
}

// A chain of hold-outs deeper than a few links, each triggering the next
// at once, is sent at its due time: an acyclic chain has at most one link
// per campaign.
func TestAdvanceSendsTheEndOfALongChainOfHoldOutsOnTime(t *testing.T) {
	sim, err := simulate.New(t0)
	require.NoError(t, err)
	const links = 12
	campaigns := []rule.Campaign{{ID: "o"}, {ID: "f0", Delay: rule.After(time.Hour), ControlPercent: 100,
		Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}}}
	ids := []string{"f0"}
	for k := 1; k <= links; k++ {
		c := rule.Campaign{ID: fmt.Sprintf("f%d", k), ControlPercent: 100,
			Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: fmt.Sprintf("f%d", k-1)}}}
		if k == links {
			c.ControlPercent = 0 // the last link is sent
		}
		campaigns = append(campaigns, c)
		ids = append([]string{c.ID}, ids...) // published last link first
	}
	require.NoError(t, sim.Save(campaigns...))
	require.NoError(t, sim.Publish(append(ids, "o")...))
	require.NoError(t, sim.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "o"}))

	n, err := sim.AdvanceTo(t0.Add(2 * time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	sent := sim.Sent()
	require.Equal(t, fmt.Sprintf("f%d", links), sent[0].CampaignID)
	require.Equal(t, t0.Add(time.Hour), sim.Sender.SentAt(sent[0].ID))
}

// Follow-ups that hold users out and trigger each other at once, in a
// cycle, do not hold the clock at one instant: past as many ticks there as
// the engine has campaigns, it steps a millisecond.
func TestAdvanceStepsOverACycleOfHoldOuts(t *testing.T) {
	sim, err := simulate.New(t0)
	require.NoError(t, err)
	again := rule.ReeligibleAfter(0)
	a := rule.Campaign{ID: "a", ControlPercent: 100, Reeligibility: again, Triggers: []rule.Trigger{
		{Kind: event.EmailOpened, CampaignID: "o"}}}
	require.NoError(t, sim.Save(rule.Campaign{ID: "o"}, a,
		rule.Campaign{ID: "b", ControlPercent: 100, Reeligibility: again, Triggers: []rule.Trigger{
			{Kind: event.ControlGroupEnrolled, CampaignID: "a"}}}))
	a.Triggers = append(a.Triggers, rule.Trigger{Kind: event.ControlGroupEnrolled, CampaignID: "b"})
	require.NoError(t, sim.Save(a))
	require.NoError(t, sim.Publish("a", "b", "o"))
	require.NoError(t, sim.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "o"}))
	_, err = sim.AdvanceTo(t0.Add(3 * time.Millisecond))
	require.NoError(t, err)
	require.Equal(t, t0.Add(3*time.Millisecond), sim.Now())
	heldAt := map[time.Time]int{}
	for _, d := range sim.Decisions() {
		if d.Kind == rule.HeldOut {
			heldAt[d.At]++
		}
	}
	require.Equal(t, 9, heldAt[t0], "hold-outs at the first instant: a tick and 8 more")
}

// ClockEnd is where moves stop: AdvanceTo reaches it, and refuses an
// instant after it.
func TestClockEnd(t *testing.T) {
	end := simulate.ClockEnd()
	require.Equal(t, time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC), end)
	sim, err := simulate.New(end.Add(-time.Hour))
	require.NoError(t, err)
	_, err = sim.AdvanceTo(end)
	require.NoError(t, err)
	require.Equal(t, end, sim.Now())
	_, err = sim.AdvanceTo(end.Add(time.Nanosecond))
	require.ErrorIs(t, err, store.ErrTimeRange)
}

// An empty setup (nothing, white space, or a byte order mark alone) is
// said to be empty, not reported as a bare "EOF".
func TestReadSetupEmpty(t *testing.T) {
	for _, src := range []string{"", " \n\t\r\n", "\ufeff"} {
		_, err := simulate.ReadSetup(strings.NewReader(src))
		require.ErrorIs(t, err, simulate.ErrScript)
		require.ErrorIs(t, err, io.EOF, "as before")
		require.ErrorContains(t, err, `setup: empty, where a JSON object with a "start" is due`, "%q", src)
	}
}
