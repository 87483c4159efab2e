package connectortest_test

import (
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// RequireSentAt about a delivery that never came, or came twice, says
// the time the test wanted in its zone, and when each delivery went out:
// not only how many there were.
func TestRequireSentAtSaysTheWantedTimeWhenTheCountIsWrong(t *testing.T) {
	newYork, setup := nextMorningInNewYork(t)
	nine := time.Date(2026, time.March, 8, 9, 0, 0, 0, newYork)

	never := outcome(t, setup, func(h *connectortest.Harness) {
		h.Advance(time.Hour) // not far enough
		h.RequireSentAt("ann", "tips", nine)
	}, withZone(newYork))
	require.True(t, never.failed)
	require.Contains(t, never.msg, `want "tips" delivered to "ann" once, got 0 times`+"\n"+
		`want it at 2026-03-08T09:00:00-04:00 EDT = 2026-03-08T13:00:00Z`+"\n")
	require.Contains(t, never.msg, "is still waiting, due at 2026-03-08T13:00:00Z")

	twice := outcome(t, func(h *connectortest.Harness) {
		h.Apply(rule.Campaign{ID: "welcome"}, rule.Campaign{
			ID:            "tips",
			Triggers:      []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "welcome"}},
			Delay:         rule.After(time.Hour),
			Reeligibility: rule.ReeligibleAfter(time.Minute),
		})
	}, func(h *connectortest.Harness) {
		for range 2 {
			h.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "welcome"})
			h.Advance(2 * time.Hour)
		}
		h.RequireSentAt("ann", "tips", connectortest.Start.Add(time.Hour).In(newYork))
	})
	require.True(t, twice.failed)
	require.Contains(t, twice.msg, `want "tips" delivered to "ann" once, got 2 times`+"\n"+
		`want it at 2026-01-04T20:00:00-05:00 EST = 2026-01-05T01:00:00Z; `+
		`sent at 2026-01-04T20:00:00-05:00 EST = 2026-01-05T01:00:00Z, 2026-01-04T22:00:00-05:00 EST = 2026-01-05T03:00:00Z`+"\n")
}

// A delivery accepted twice under the same ID (a duplicate send, or a
// send whose success was not recorded and was tried again) is listed with
// the time of each acceptance, not the last one twice.
func TestRequireSentAtGivesEachAcceptanceOfOneIDItsTime(t *testing.T) {
	f := outcome(t, func(h *connectortest.Harness) {
		h.Apply(rule.Campaign{ID: "welcome"}, rule.Campaign{
			ID:       "tips",
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "welcome"}},
			Delay:    rule.After(time.Hour),
		})
	}, func(h *connectortest.Harness) {
		h.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "welcome"})
		h.Advance(2 * time.Hour)
		d := h.RequireSent("ann", "tips")
		if err := h.Sender.Send(context.Background(), d); err != nil { // the same delivery again, an hour after
			h.T.Fatalf("Send: %v", err)
		}
		h.RequireSentAt("ann", "tips", connectortest.Start.Add(time.Hour))
	})
	require.True(t, f.failed)
	require.Contains(t, f.msg, `want "tips" delivered to "ann" once, got 2 times`+"\n"+
		`want it at 2026-01-05T01:00:00Z; sent at 2026-01-05T01:00:00Z, 2026-01-05T02:00:00Z`+"\n")
}
