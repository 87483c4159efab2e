package simulate_test

import (
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
