// Command abandoned_cart reminds users of their cart a day after the
// abandoned-cart push, unless they opened the push or bought anything in
// the meantime.
//
//	go run ./examples/abandoned_cart
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
	mem := store.NewMemory()
	engine, err := connector.New(mem, sender,
		connector.WithClock(clk),
		connector.WithObserver(observer),
		connector.WithSendConcurrency(1), // one send slot: deliveries go out in due order
	)
	must(err)

	fmt.Fprintln(w, "Abandoned cart: remind after 24 h unless opened or bought")
	// The campaigns as code: Apply saves them and publishes the follow-up
	// before the push that triggers it, so that no receipt is lost. A
	// restart applying the same set changes nothing.
	campaigns := []rule.Campaign{
		{ID: "abandoned_cart"}, // the original: the host sends it
		{
			ID:       "cart_reminder",
			Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Delay:    rule.After(24 * time.Hour),
			Exceptions: []rule.Exception{ // any one cancels the wait
				{Kind: event.Purchase}, // a purchase of any product
				{Kind: event.PushOpened, CampaignID: "abandoned_cart"},
			},
			Message: []byte(`{"title":"Your cart misses you"}`),
		},
	}
	fmt.Fprintf(w, "%s  apply abandoned_cart and cart_reminder\n", stamp(clk.Now()))
	must(engine.Apply(ctx, campaigns))

	track := func(ev event.Event) {
		what := string(ev.Kind) + " " + ev.CampaignID + ev.Name
		if !ev.Time.IsZero() {
			what += " (happened " + stamp(ev.Time) + ")"
		}
		fmt.Fprintf(w, "%s  %-6s %s\n", stamp(clk.Now()), ev.UserID, what)
		must(engine.Track(ctx, ev))
	}
	// advance moves the clock forward by d as Run would wait on a real
	// clock: it stops at each due time on the way and sends what is due.
	advance := func(d time.Duration) {
		end := clk.Now().Add(d)
		for {
			_, err := engine.Tick(ctx)
			must(err)
			next, ok, err := mem.NextDue(ctx, engine.Namespace())
			must(err)
			if !ok || next.After(end) || !next.After(clk.Now()) {
				break
			}
			clk.Set(next)
		}
		clk.Set(end)
		_, err := engine.Tick(ctx)
		must(err)
	}

	// dan bought socks an hour before the push: an exception counts only
	// while the user waits, so it cancels nothing (and leaves no decision:
	// dan waits for nothing yet).
	before := decided
	track(event.Event{UserID: "dan", Kind: event.Purchase, Name: "socks", Time: clk.Now().Add(-time.Hour)})
	noDecision(before, "dan waits for no reminder yet, so his purchase cancels nothing")
	for _, user := range []string{"dan", "eve", "fay", "gus"} {
		track(event.Event{UserID: user, Kind: event.PushReceived, CampaignID: "abandoned_cart"})
	}
	advance(3 * time.Hour)
	track(event.Event{UserID: "eve", Kind: event.Purchase, Name: "shoes", Properties: map[string]any{"price": 89.9}})
	track(event.Event{UserID: "fay", Kind: event.PushOpened, CampaignID: "abandoned_cart"})
	advance(21 * time.Hour)

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
