package simulate_test

import (
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
)

func Example() {
	sim, _ := simulate.New(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	_ = sim.Save(rule.Campaign{ID: "onboarding"}, rule.Campaign{
		ID:       "feature_tour",
		Triggers: []rule.Trigger{{Kind: event.InAppMessageButtonClicked, CampaignID: "onboarding", Target: "deep_link"}},
		Delay:    rule.InDaysAt(1, 10, 0),
	})
	_ = sim.Publish("feature_tour", "onboarding")
	_ = sim.Track(event.Event{UserID: "kim", Kind: event.InAppMessageButtonClicked, CampaignID: "onboarding", Target: "deep_link"})
	_, _ = sim.Advance(48 * time.Hour)
	for _, d := range sim.Decisions() {
		fmt.Println(d.At.Format("Mon 15:04"), d.Kind, d.CampaignID, d.UserID)
	}
	// Output:
	// Mon 09:00 scheduled feature_tour kim
	// Tue 10:00 delivered feature_tour kim
}
