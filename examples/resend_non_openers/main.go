// Command resend_non_openers resends a newsletter a week after receipt to
// the users who did not open it, unless they bought something.
//
//	go run ./examples/resend_non_openers
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

func run(w io.Writer) { runWith(w, 7*24*time.Hour) }

// runWith runs the script with the resend's Delay: the change a
// prototyper tries first.
func runWith(w io.Writer, delay time.Duration) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)) // a Monday

	// The sender hands each delivery to the host's mail provider; here it
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

	fmt.Fprintf(w, "Resend the newsletter to non-openers after %g days, unless they bought something\n", delay.Hours()/24)
	// The campaigns as code: Apply saves them and publishes each follow-up
	// before the campaign that triggers it, so that the follow-up sees the
	// original's first receipts. A restart applying the same set changes
	// nothing.
	campaigns := []rule.Campaign{
		{ID: "newsletter"}, // the original: the host sends it; registering it lets follow-ups name it
		{
			// A week after receipt, unless the user opened the newsletter
			// or bought something.
			ID:       "resend",
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay:    rule.After(delay),
			Exceptions: []rule.Exception{
				{Kind: event.EmailOpened, CampaignID: "newsletter"},
				{Kind: event.Purchase}, // any purchase
			},
			Message: []byte(`{"subject":"In case you missed it"}`),
		},
	}
	fmt.Fprintf(w, "%s  apply newsletter and resend\n", stamp(clk.Now()))
	must(engine.Apply(ctx, campaigns))

	track := func(user string, kind event.Kind) {
		fmt.Fprintf(w, "%s  %-6s %s newsletter\n", stamp(clk.Now()), user, kind)
		must(engine.Track(ctx, event.Event{UserID: user, Kind: kind, CampaignID: "newsletter"}))
	}
	purchase := func(user, product string) {
		fmt.Fprintf(w, "%s  %-6s %s %s\n", stamp(clk.Now()), user, event.Purchase, product)
		must(engine.Track(ctx, event.Event{UserID: user, Kind: event.Purchase, Name: product}))
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

	// The host sends the newsletter; its mail provider reports receipts.
	// The script's days sit around the 7-day Delay above (an open on day
	// 2, a purchase on day 3, an open on day 8): with a Delay of 3 days or
	// less, dan's purchase comes after his resend (and with 2 or less,
	// bob's open after his); with more than 8, cleo's open cancels hers.
	for _, user := range []string{"ann", "bob", "cleo", "dan"} {
		track(user, event.EmailReceived)
	}
	advance(2 * 24 * time.Hour)
	track("bob", event.EmailOpened) // while bob waits: cancels his resend
	advance(24 * time.Hour)
	purchase("dan", "sku-42") // dan bought something: no resend for him either
	advance(5 * 24 * time.Hour)
	// Opened after the resend went out: there is nothing left to cancel.
	before := decided
	track("cleo", event.EmailOpened)
	noDecision(before, "cleo's resend went out, so her open cancels nothing")

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
