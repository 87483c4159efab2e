package connectortest_test

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// A unit test of a campaign, as a host writes it.
func TestResendToNonOpeners(t *testing.T) {
	h := connectortest.New(t)
	h.Save(rule.Campaign{ID: "newsletter"}, rule.Campaign{
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(7 * 24 * time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
	})
	h.Publish("resend", "newsletter")
	h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Track(event.Event{UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Advance(24 * time.Hour)
	h.Track(event.Event{UserID: "bob", Kind: event.EmailOpened, CampaignID: "newsletter"})
	h.Advance(7 * 24 * time.Hour)

	h.RequireSentAt("ann", "resend", connectortest.Start.Add(7*24*time.Hour))
	h.RequireNotSent("bob", "resend")
	h.RequireReason("bob", "resend", rule.Cancelled, rule.ReasonException)
}
