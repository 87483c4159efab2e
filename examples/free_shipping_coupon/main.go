// Command free_shipping_coupon is the seed's first use case (SPEC.md S4):
// users who open or click the free-shipping push get a 15 % coupon at once.
//
//	go run ./examples/free_shipping_coupon
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
	d := demo.New(w, "Free-shipping push → 15 % coupon")
	d.Save(
		rule.Campaign{ID: "free_shipping"},
		rule.Campaign{
			ID: "coupon_15",
			Triggers: []rule.Trigger{ // any one is enough
				{Kind: event.PushOpened, CampaignID: "free_shipping"},
				{Kind: event.PushButtonClicked, CampaignID: "free_shipping"},
			},
			Message: []byte(`{"coupon":"SAVE15"}`),
		},
	)
	d.Publish("coupon_15", "free_shipping")
	d.Track(event.Event{UserID: "hana", Kind: event.PushOpened, CampaignID: "free_shipping"})
	d.Track(event.Event{UserID: "ivan", Kind: event.PushButtonClicked, CampaignID: "free_shipping", Target: "shop_now"})
	d.Track(event.Event{UserID: "jon", Kind: event.PushReceived, CampaignID: "free_shipping"})
	d.Advance(time.Minute) // immediate deliveries go out on the next tick
	// hana opens the push again: once only by default.
	d.Track(event.Event{UserID: "hana", Kind: event.PushOpened, CampaignID: "free_shipping"})
	d.Summary()
}
