package connector_test

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// A user held out in a campaign's control group who then receives it
// inside the enrolment's window (the host's control group, or a control
// percent lowered since) converts with the message: their conversion is a
// sent user's, dated from the receipt, whichever of the two events the
// host reports first; so is that of a user held out after receiving it.
func TestConversionAfterControlGroupThenReceipt(t *testing.T) {
	conv := []rule.Conversion{{ID: "bought", Kind: event.Purchase, Deadline: 72 * time.Hour}}
	enrolled, received := connectortest.Start, connectortest.Start.Add(time.Hour)
	for name, order := range map[string][]event.Event{
		"in order": {
			{UserID: "u", Kind: event.ControlGroupEnrolled, CampaignID: "promo", Time: enrolled},
			{UserID: "u", Kind: event.EmailReceived, CampaignID: "promo", Time: received},
		},
		"the receipt first": {
			{UserID: "u", Kind: event.EmailReceived, CampaignID: "promo", Time: received},
			{UserID: "u", Kind: event.ControlGroupEnrolled, CampaignID: "promo", Time: enrolled},
		},
		"held out after the receipt": {
			{UserID: "u", Kind: event.EmailReceived, CampaignID: "promo", Time: received},
			{UserID: "u", Kind: event.ControlGroupEnrolled, CampaignID: "promo", Time: received.Add(time.Minute)},
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := connectortest.New(t)
			h.Apply(rule.Campaign{ID: "promo", Conversions: conv})
			h.AdvanceTo(received)
			h.Track(order...)
			h.Advance(time.Hour)
			h.Track(event.Event{UserID: "u", Kind: event.Purchase, Name: "sku"})
			h.RequireNoReason("u", "promo", rule.Converted, rule.ReasonControlGroup)
			c := h.RequireReason("u", "promo", rule.Converted, "")
			require.Equal(t, "received at "+received.Format(time.RFC3339), c.Detail)
			require.NotContains(t, h.Explain("u", "promo").String(), "without the message")
			n := 0
			for _, d := range h.DecisionsFor("u", "promo") {
				if d.Kind == rule.Converted {
					n++
				}
			}
			require.Equal(t, 1, n, "one conversion")
		})
	}
}
