package connector_test

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// The original must be active when a trigger is processed, not when its
// follow-up is sent: archiving or stopping the original leaves the
// deliveries already scheduled to go, while the follow-up itself stays
// active.
func TestADeliveryOutlivesItsOriginal(t *testing.T) {
	for _, end := range []string{"archive", "stop"} {
		t.Run(end, func(t *testing.T) {
			h := started(t, nil)
			h.Track(interaction("u", event.EmailReceived, "newsletter"))
			h.Advance(10 * time.Minute)
			if end == "archive" {
				h.Archive("newsletter")
			} else {
				h.Stop("newsletter")
			}
			h.Track(interaction("v", event.EmailReceived, "newsletter"))
			h.Advance(2 * time.Hour)
			h.RequireSentAt("u", "f", connectortest.Start.Add(time.Hour))
			h.RequireReason("v", "f", rule.Suppressed, rule.ReasonOriginalNotActive)
		})
	}
}

// In a chain o → a → b, stopping a (b's original) while b waits leaves
// b's delivery to go, and an exception naming a still cancels it; a's
// receipts reported after the stop no longer trigger b.
func TestStoppingTheMiddleOfAChain(t *testing.T) {
	for _, cancel := range []bool{false, true} {
		h := connectortest.New(t)
		h.Save(rule.Campaign{ID: "o"},
			rule.Campaign{ID: "a", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}, Delay: rule.After(time.Hour)},
			rule.Campaign{ID: "b", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "a"}}, Delay: rule.After(time.Hour),
				Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "a"}}})
		h.Publish("b", "a", "o")
		h.Track(interaction("u", event.EmailOpened, "o"), interaction("v", event.EmailOpened, "o"))
		h.Advance(time.Hour)
		h.Track(interaction("u", event.EmailReceived, "a"))
		h.Advance(10 * time.Minute)
		h.Stop("a")
		h.Track(interaction("v", event.EmailReceived, "a"))
		if cancel {
			h.Track(interaction("u", event.EmailOpened, "a"))
		}
		h.Advance(2 * time.Hour)
		if cancel {
			h.RequireNotSent("u", "b")
			h.RequireReason("u", "b", rule.Cancelled, rule.ReasonException)
		} else {
			h.RequireSentAt("u", "b", connectortest.Start.Add(2*time.Hour))
		}
		h.RequireReason("v", "b", rule.Suppressed, rule.ReasonOriginalNotActive)
	}
}
