package connector_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// A trigger stamped far ahead of the clock (a device's wrong clock, a
// hostile webhook) schedules a delivery that never falls due, and under
// the default pending policy keeps the user from the follow-up for good.
// WithMaxTriggerLead refuses it on arrival, as WithMaxTriggerAge refuses
// a stale one, and the user's next trigger schedules as usual.
func TestMaxTriggerLeadRefusesTriggersStampedFarAhead(t *testing.T) {
	h := connectortest.New(t, connector.WithMaxTriggerLead(time.Hour))
	followUp(h, nil)
	t0 := h.Now()
	h.TrackAt(t0.Add(time.Hour), opened("ahead")) // exactly the lead: counts
	h.TrackAt(t0.Add(time.Hour+time.Second), opened("skewed"))
	h.TrackAt(event.MaxTime.Add(-time.Second), opened("hostile"))
	h.Tick()
	h.RequirePendingAt("ahead", "f", t0.Add(time.Hour))
	for _, u := range []string{"skewed", "hostile"} {
		d := h.RequireReason(u, "f", rule.Suppressed, rule.ReasonTriggerTooFarAhead)
		require.Contains(t, d.Detail, "ahead of the clock", "%s: the detail says by how much", u)
		require.Contains(t, h.Explain(u, "f").String(), "too far in the future")
	}

	// Neither waits for anything: a trigger stamped now schedules.
	h.Track(opened("skewed"), opened("hostile"))
	h.Advance(time.Hour)
	h.RequireSent("ahead", "f")
	h.RequireSent("skewed", "f")
	h.RequireSent("hostile", "f")

	require.NoError(t, h.Engine.FlushTallies(context.Background()))
	tallies, err := h.Engine.Tallies(context.Background(), store.TallyQuery{CampaignID: "f"})
	require.NoError(t, err)
	var n int64
	for _, tl := range tallies {
		if tl.Kind == rule.Suppressed && tl.Reason == rule.ReasonTriggerTooFarAhead {
			n += tl.Count
		}
	}
	require.EqualValues(t, 2, n, "the tallies count both refused triggers: %v", tallies)
}

// Without the option a stamp far ahead is judged by its stamp: the
// delivery waits for its due time.
func TestWithoutMaxTriggerLeadAFarStampWaits(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, nil)
	at := h.Now().Add(365 * 24 * time.Hour)
	h.TrackAt(at, opened("ann"))
	h.RequirePendingAt("ann", "f", at)
}

func TestMaxTriggerLeadMustBePositive(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		_, err := connector.New(store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
			connector.WithMaxTriggerLead(d))
		require.Error(t, err, "lead %v", d)
		require.True(t, strings.Contains(err.Error(), "max trigger lead must be positive"), "%v", err)
	}
}

// A refused trigger's event ID is remembered like any processed event's: a
// provider's retry of the same event, once its stamp is within the lead,
// is a duplicate, not a trigger.
func TestMaxTriggerLeadRemembersTheRefusedEventID(t *testing.T) {
	h := connectortest.New(t, connector.WithMaxTriggerLead(time.Hour))
	followUp(h, nil)
	ev := opened("ann")
	ev.ID = "evt-1"
	ev.Time = h.Now().Add(2 * time.Hour)
	h.Track(ev)
	h.RequireReason("ann", "f", rule.Suppressed, rule.ReasonTriggerTooFarAhead)
	h.Advance(90 * time.Minute) // the stamp is now 30 minutes ahead
	h.Track(ev)
	h.RequireKinds("ann", "f", "suppressed/trigger_too_far_ahead", "duplicate/duplicate_event")
	h.RequireNotSent("ann", "f")
	require.Empty(t, h.Explain("ann", "f").Pending)
}
