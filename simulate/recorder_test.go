package simulate_test

import (
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/stretchr/testify/require"
)

// A delivery accepted twice under one ID (here sent again by hand, as a
// duplicate send would) keeps the time of each acceptance: SentTimes
// gives both, in order, and SentAt the last, as it always did.
func TestRecorderSentTimesKeepsEveryAcceptance(t *testing.T) {
	sim, err := simulate.New(t0)
	require.NoError(t, err)
	setup := resendSetup()
	require.NoError(t, sim.Save(setup.Campaigns...))
	require.NoError(t, sim.Publish(setup.Publish...))
	require.NoError(t, sim.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}))
	_, err = sim.Advance(48 * time.Hour)
	require.NoError(t, err)
	require.Len(t, sim.Sent(), 1)
	d := sim.Sent()[0]
	require.Equal(t, []time.Time{t0.Add(24 * time.Hour)}, sim.Sender.SentTimes(d.ID))

	require.NoError(t, sim.Sender.Send(context.Background(), d)) // at t0+48h
	require.Equal(t, []time.Time{t0.Add(24 * time.Hour), t0.Add(48 * time.Hour)}, sim.Sender.SentTimes(d.ID))
	require.Equal(t, t0.Add(48*time.Hour), sim.Sender.SentAt(d.ID), "SentAt is the last acceptance")
	require.Len(t, sim.Sent(), 2)

	times := sim.Sender.SentTimes(d.ID)
	times[0] = time.Time{}
	require.Equal(t, t0.Add(24*time.Hour), sim.Sender.SentTimes(d.ID)[0], "the slice returned is a copy")
	require.Nil(t, sim.Sender.SentTimes("no such ID"))
	require.True(t, sim.Sender.SentAt("no such ID").IsZero())
}
