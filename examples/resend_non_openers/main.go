// Command resend_non_openers is the seed's example (SPEC.md S1): resend the
// newsletter a week after receipt to users who did not open it.
//
//	go run ./examples/resend_non_openers
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
	d := demo.New(w, "Resend the newsletter to non-openers after 7 days")
	d.Save(
		rule.Campaign{ID: "newsletter"}, // the original: the host sends it
		rule.Campaign{
			ID:         "resend",
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay:      rule.After(7 * 24 * time.Hour),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
			Message:    []byte(`{"subject":"In case you missed it"}`),
		},
	)
	// The safe order: follow-up first, then the original.
	d.Publish("resend", "newsletter")

	// The host sends the newsletter; its mail provider reports receipts.
	for _, user := range []string{"ann", "bob", "cleo"} {
		d.Track(event.Event{UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"})
	}
	d.Advance(2 * 24 * time.Hour)
	d.Track(event.Event{UserID: "bob", Kind: event.EmailOpened, CampaignID: "newsletter"})
	d.Advance(6 * 24 * time.Hour)
	// Opened after the resend was due: too late to cancel it.
	d.Track(event.Event{UserID: "cleo", Kind: event.EmailOpened, CampaignID: "newsletter"})
	d.Summary()
}
