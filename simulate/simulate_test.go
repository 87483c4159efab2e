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
