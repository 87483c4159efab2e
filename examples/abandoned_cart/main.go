// Command abandoned_cart is the seed's abandoned-cart example (SPEC.md S6):
// resend the cart reminder push to users who neither opened it nor bought
// anything within a day.
//
//	go run ./examples/abandoned_cart
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
	d := demo.New(w, "Abandoned cart: remind after 24 h unless opened or bought")
	d.Save(
		rule.Campaign{ID: "abandoned_cart"},
		rule.Campaign{
			ID:       "cart_reminder",
			Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Delay:    rule.After(24 * time.Hour),
			Exceptions: []rule.Exception{
				{Kind: event.Purchase}, // any product
				{Kind: event.PushOpened, CampaignID: "abandoned_cart"},
			},
			Message: []byte(`{"title":"Your cart misses you"}`),
		},
	)
	d.Publish("cart_reminder", "abandoned_cart")

	// dan bought something an hour before the push: that does not count.
	d.Track(event.Event{UserID: "dan", Kind: event.Purchase, Name: "socks", Time: d.Now().Add(-time.Hour)})
	for _, user := range []string{"dan", "eve", "fay", "gus"} {
		d.Track(event.Event{UserID: user, Kind: event.PushReceived, CampaignID: "abandoned_cart"})
	}
	d.Advance(3 * time.Hour)
	d.Track(event.Event{UserID: "eve", Kind: event.Purchase, Name: "shoes", Properties: map[string]any{"price": 89.9}})
	d.Track(event.Event{UserID: "fay", Kind: event.PushOpened, CampaignID: "abandoned_cart"})
	d.Advance(21 * time.Hour)
	d.Summary()
}
