package connectortest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// A unit test of a campaign: save and publish it, track events, move the
// clock, and assert what was sent and why. A failing assertion prints the
// timeline of every decision; here the test prints it at the end.
func ExampleNew() {
	// Needed only in an example: in a test, t is the test's *testing.T.
	t := &testing.T{}

	h := connectortest.New(t) // a mock clock at connectortest.Start, a memory store, a recording sender
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
	h.Advance(7 * 24 * time.Hour) // sends each delivery at its due time

	h.RequireSentAt("ann", "resend", connectortest.Start.Add(7*24*time.Hour))
	h.RequireNotSent("bob", "resend")
	h.RequireKinds("bob", "resend", "scheduled", "cancelled/exception")
	fmt.Print(h.Timeline())

	// Output:
	// timeline:
	//   2026-01-05T00:00:00Z scheduled resend user=ann due=2026-01-12T00:00:00Z (email_received of "newsletter")
	//   2026-01-05T00:00:00Z scheduled resend user=bob due=2026-01-12T00:00:00Z (email_received of "newsletter")
	//   2026-01-06T00:00:00Z cancelled resend user=bob due=2026-01-12T00:00:00Z (exception: email_opened of "newsletter": waiting since 2026-01-05T00:00:00Z)
	//   2026-01-12T00:00:00Z delivered resend user=ann due=2026-01-12T00:00:00Z attempt=1
}

// Campaigns defined in code, applied as the host applies them at start:
// Apply saves and publishes the set in the order that loses nothing, and
// the timeline sums its decisions up on one line.
func ExampleHarness_Apply() {
	// Needed only in an example: in a test, t is the test's *testing.T.
	t := &testing.T{}

	h := connectortest.New(t)
	h.Apply(rule.Campaign{ID: "cart"}, rule.Campaign{
		ID:       "coupon",
		Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "cart"}},
		Delay:    rule.After(time.Hour),
	})
	h.Track(event.Event{UserID: "ann", Kind: event.PushOpened, CampaignID: "cart"})
	h.Advance(time.Hour)

	h.RequireSent("ann", "coupon")
	fmt.Print(h.Timeline())

	// Output:
	// timeline:
	//   2026-01-05T00:00:00Z applied: created 2, published 2 (cart, coupon)
	//   2026-01-05T00:00:00Z scheduled coupon user=ann due=2026-01-05T01:00:00Z (push_opened of "cart")
	//   2026-01-05T01:00:00Z delivered coupon user=ann due=2026-01-05T01:00:00Z attempt=1
}
