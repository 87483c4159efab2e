// Command onboarding_deep_link is the seed's second use case (SPEC.md S5):
// users who tap the deep-link button of the onboarding in-app message get a
// feature tour; users who tap another button do not.
//
//	go run ./examples/onboarding_deep_link
package main

import (
	"io"
	"os"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/examples/internal/demo"
	"github.com/campaignconnector/campaignconnector/rule"
)

func main() { run(os.Stdout) }

func run(w io.Writer) {
	d := demo.New(w, "Onboarding deep link → feature tour")
	d.Save(
		rule.Campaign{ID: "onboarding"},
		rule.Campaign{
			ID: "feature_tour",
			Triggers: []rule.Trigger{{
				Kind:       event.InAppMessageButtonClicked,
				CampaignID: "onboarding",
				Target:     "deep_link", // only this button
			}},
			Delay:   rule.After(10 * time.Minute),
			Message: []byte(`{"screen":"tour"}`),
		},
	)
	d.Publish("feature_tour", "onboarding")
	d.Track(event.Event{UserID: "kim", Kind: event.InAppMessageButtonClicked, CampaignID: "onboarding", Target: "deep_link"})
	d.Track(event.Event{UserID: "lea", Kind: event.InAppMessageButtonClicked, CampaignID: "onboarding", Target: "close"})
	d.Advance(time.Hour)
	d.Summary()
}
