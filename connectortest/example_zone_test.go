package connectortest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// A calendar delay in the user's zone, across a change of time: "tips"
// goes the next day at 09:00 in New York, where the clocks move forward
// on Sunday 8 March 2026. The test gives the harness the directory its
// engine has, checks the due time before moving the clock, and that no
// one else got the follow-up.
func ExampleHarness_RequirePendingAt() {
	// Needed only in an example: in a test, t is the test's *testing.T.
	t := &testing.T{}

	newYork, _ := time.LoadLocation("America/New_York")
	zones := map[string]*time.Location{"ann": newYork} // others: the engine's default, UTC
	h := connectortest.New(t, connector.WithDirectory(connector.LocationFunc(
		func(_ context.Context, userID string) (*time.Location, error) { return zones[userID], nil })))
	h.AdvanceTo(time.Date(2026, time.March, 7, 21, 0, 0, 0, newYork)) // Saturday evening in New York
	h.Apply(rule.Campaign{ID: "welcome"}, rule.Campaign{
		ID:       "tips",
		Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "welcome"}},
		Delay:    rule.InDaysAt(1, 9, 0), // the next day at 09:00, the user's time
	})
	h.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "welcome"})

	nine := time.Date(2026, time.March, 8, 9, 0, 0, 0, newYork)
	p := h.RequirePendingAt("ann", "tips", nine)
	fmt.Println("due in", p.DueAt.Sub(h.Now())) // 09:00 EDT: one hour less than the wall clocks say
	h.AdvanceTo(nine)

	h.RequireSentAt("ann", "tips", nine)
	h.RequireRecipients("tips", "ann")
	fmt.Print(h.Timeline())

	// Output:
	// due in 11h0m0s
	// timeline:
	//   2026-03-08T02:00:00Z applied: created 2, published 2 (tips, welcome)
	//   2026-03-08T02:00:00Z scheduled tips user=ann due=2026-03-08T13:00:00Z (email_opened of "welcome")
	//   2026-03-08T13:00:00Z delivered tips user=ann due=2026-03-08T13:00:00Z attempt=1
}
