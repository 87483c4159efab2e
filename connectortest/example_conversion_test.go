package connectortest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// A conversion: how many users who received the coupon bought within 3
// days. The window opens on the coupon's receipt, which the push provider
// reports (the engine reports none for what it sends), so the test tracks
// it after the send, as the host's webhook would.
func ExampleHarness_RequireReason() {
	// Needed only in an example: in a test, t is the test's *testing.T.
	t := &testing.T{}

	const day = 24 * time.Hour
	h := connectortest.New(t)
	h.Apply(rule.Campaign{ID: "free_shipping"}, rule.Campaign{
		ID:          "coupon",
		Triggers:    []rule.Trigger{{Kind: event.PushButtonClicked, CampaignID: "free_shipping"}},
		Delay:       rule.After(time.Hour),
		Conversions: []rule.Conversion{{ID: "bought", Kind: event.Purchase, Deadline: 3 * day}},
	})
	for _, user := range []string{"ann", "bob", "cat"} {
		h.Track(event.Event{UserID: user, Kind: event.PushButtonClicked, CampaignID: "free_shipping"})
	}
	h.Advance(time.Hour) // the coupons go out
	received := h.Now()
	for _, user := range []string{"ann", "bob", "cat"} {
		h.Track(event.Event{UserID: user, Kind: event.PushReceived, CampaignID: "coupon"}) // the provider's receipt
	}
	h.TrackAt(received.Add(2*day), event.Event{UserID: "ann", Kind: event.Purchase})
	h.TrackAt(received.Add(3*day), event.Event{UserID: "bob", Kind: event.Purchase}) // at the deadline: too late

	d := h.RequireReason("ann", "coupon", rule.Converted, "")
	fmt.Println(d.Rule)
	h.RequireNoReason("bob", "coupon", rule.Converted, "")
	converted := 0
	for _, d := range h.Decisions() {
		if d.Kind == rule.Converted && d.CampaignID == "coupon" {
			converted++
		}
	}
	fmt.Printf("%d of %d converted\n", converted, len(h.Recipients("coupon")))

	// Output:
	// conversion bought
	// 1 of 3 converted
}
