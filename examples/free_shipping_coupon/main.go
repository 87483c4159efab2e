// Command free_shipping_coupon sends a 15 % coupon, at once, to users who
// open or click the free-shipping push.
//
//	go run ./examples/free_shipping_coupon
//
// The engine runs on a mock clock that the program moves by hand, so the
// timeline it prints is the same on every run. In production, leave out
// WithClock (the engine reads the system clock) and call engine.Run, which
// sends each delivery when it falls due.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

func main() { run(os.Stdout) }

func run(w io.Writer) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)) // a Monday

	// The sender hands each delivery to the host's push provider; here it
	// writes it down. A nil error means the provider accepted it.
	var sent []string
	sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		sent = append(sent, fmt.Sprintf("%s to %s at %s (message %s)", d.CampaignID, d.UserID, stamp(clk.Now()), d.Message))
		return nil
	})
	// The observer prints every decision the engine takes, with its reason.
	decided := 0 // decisions printed, for noDecision
	observer := connector.ObserverFunc(func(d rule.Decision) { decided++; fmt.Fprintln(w, describe(d)) })
	// noDecision notes why the script's line above left no decision, when
	// no decision came since before: an edit of the campaigns or of the
	// script can make the line leave one, and the note untrue.
	noDecision := func(before int, why string) {
		if decided == before {
			fmt.Fprintf(w, "%s      · no decision: %s\n", stamp(clk.Now()), why)
		}
	}
	engine, err := connector.New(store.NewMemory(), sender,
		connector.WithClock(clk),
		connector.WithObserver(observer),
		connector.WithSendConcurrency(1), // one send slot: deliveries go out in due order
	)
	must(err)

	fmt.Fprintln(w, "Free-shipping push → 15 % coupon")
	// The campaigns as code: Apply saves them and publishes the follow-up
	// before the push that triggers it, so that no open or click is lost.
	// A restart applying the same set changes nothing.
	campaigns := []rule.Campaign{
		{ID: "free_shipping"}, // the original: the host sends it
		{
			ID: "coupon_15",
			Triggers: []rule.Trigger{ // any one is enough
				{Kind: event.PushOpened, CampaignID: "free_shipping"},
				{Kind: event.PushButtonClicked, CampaignID: "free_shipping"}, // any button
			},
			// No Delay: due at the trigger's time. Once only (the default).
			Message: []byte(`{"coupon":"SAVE15"}`),
		},
	}
	fmt.Fprintf(w, "%s  apply free_shipping and coupon_15\n", stamp(clk.Now()))
	must(engine.Apply(ctx, campaigns))

	track := func(user string, kind event.Kind, target string) {
		what := string(kind) + " free_shipping"
		if target != "" {
			what += " [" + target + "]"
		}
		fmt.Fprintf(w, "%s  %-6s %s\n", stamp(clk.Now()), user, what)
		must(engine.Track(ctx, event.Event{UserID: user, Kind: kind, CampaignID: "free_shipping", Target: target}))
	}
	tick := func() {
		_, err := engine.Tick(ctx)
		must(err)
	}

	track("hana", event.PushOpened, "")
	track("ivan", event.PushButtonClicked, "shop_now")
	before := decided
	track("jon", event.PushReceived, "") // no follow-up listens to receipts: no decision
	noDecision(before, "coupon_15 triggers on opens and clicks, not receipts")
	// Track never sends; Tick does. Under Run it follows within milliseconds.
	tick()
	clk.Add(time.Minute)
	track("hana", event.PushOpened, "") // once only: she has it already

	fmt.Fprintln(w, "sent:")
	for _, s := range sent {
		fmt.Fprintln(w, " ", s)
	}
}

// describe renders a decision as a line of the timeline.
func describe(d rule.Decision) string {
	var line string
	switch d.Kind {
	case rule.Applied: // what Apply changed
		line = fmt.Sprintf("✓ %s: %s", d.CampaignID, d.Detail)
	case rule.Scheduled:
		line = fmt.Sprintf("→ %s scheduled for %s, due %s", d.CampaignID, d.UserID, stamp(d.DueAt))
	case rule.Delivered:
		line = fmt.Sprintf("← %s delivered to %s", d.CampaignID, d.UserID)
	case rule.Warned: // about a campaign's definition, not a user
		line = fmt.Sprintf("! warning about %s: %s", d.CampaignID, d.Reason)
		if d.Detail != "" { // what the warning means for the campaigns
			line += " (" + d.Detail + ")"
		}
	default: // cancelled, suppressed…: the reason says why
		line = fmt.Sprintf("× %s %s for %s: %s", d.CampaignID, d.Kind, d.UserID, d.Reason)
		// The rule that matched, and what the reason alone does not say
		// (which cap, since when, how late), as Decision.String has them.
		var more []string
		if d.Rule != "" {
			more = append(more, d.Rule)
		}
		if d.Detail != "" {
			more = append(more, d.Detail)
		}
		if len(more) > 0 {
			line += " (" + strings.Join(more, ": ") + ")"
		}
	}
	return stamp(d.At) + "      " + line
}

func stamp(t time.Time) string { return t.UTC().Format("Mon 02 Jan 15:04") }

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
