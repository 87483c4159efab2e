// Command control_group is the seed's control-group case (SPEC.md S3):
// users held out of the promo's control group get a survey an hour later.
// The follow-up is published before the original, because enrollment
// starts the moment the original goes live; publishing in the other order
// loses the first enrollments, and the engine warns about it.
//
//	go run ./examples/control_group
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
	d := demo.New(w, "Control group of the promo → survey")
	d.Save(
		rule.Campaign{ID: "promo"},
		rule.Campaign{ID: "spring_promo"},
		rule.Campaign{
			ID:       "holdout_survey",
			Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "promo"}},
			Delay:    rule.After(time.Hour),
			Message:  []byte(`{"survey":"what would make you buy?"}`),
		},
		rule.Campaign{
			ID:       "spring_survey",
			Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "spring_promo"}},
			Delay:    rule.After(time.Hour),
		},
	)
	d.Publish("holdout_survey", "promo") // the safe order
	d.Track(event.Event{UserID: "mia", Kind: event.ControlGroupEnrolled, CampaignID: "promo"})

	d.Publish("spring_promo") // the unsafe order: the engine warns
	d.Track(event.Event{UserID: "ned", Kind: event.ControlGroupEnrolled, CampaignID: "spring_promo"})
	d.Advance(time.Minute)
	d.Publish("spring_survey")
	d.Advance(2 * time.Hour)
	d.Summary()
}
