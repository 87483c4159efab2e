// Command control_group sends a survey, an hour later, to the users the
// promo campaign held out in its control group.
//
// The follow-up triggers on control_group_enrolled, which the host reports
// the moment the promo goes live and holds users out. So the follow-up must
// be active before the promo: Apply publishes it first. The second half
// saves and publishes a second promo and its survey by hand, the promo
// first, to show what that order costs: the engine warns, and the first
// enrollment is lost.
//
// Here the host holds users out of an original it sends itself. To hold
// users out of a follow-up, the engine does it: set the follow-up's
// rule.Campaign.ControlPercent, and it emits control_group_enrolled for
// each user it holds out (see Example_controlGroup in package connector).
//
//	go run ./examples/control_group
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

	// The sender hands each delivery to the host's messaging; here it
	// writes it down. A nil error means it was accepted.
	var sent []string
	sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		sent = append(sent, fmt.Sprintf("%s to %s at %s (message %s)", d.CampaignID, d.UserID, stamp(clk.Now()), d.Message))
		return nil
	})
	// The observer prints every decision the engine takes, with its reason;
	// warnings about the definitions come the same way.
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

	fmt.Fprintln(w, "Control group of the promo → survey")
	// The campaigns as code: Apply saves them and publishes the survey
	// before the promo that triggers it. A restart applying the same set
	// changes nothing.
	campaigns := []rule.Campaign{
		{ID: "promo"}, // the original: the host sends it and reports who it held out
		{
			ID:       "holdout_survey",
			Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "promo"}},
			Delay:    rule.After(time.Hour),
			Message:  []byte(`{"survey":"what would make you buy?"}`),
		},
	}
	// By hand, a campaign is saved as a draft and published on its own,
	// in whatever order the host calls Publish.
	save := func(c rule.Campaign) {
		fmt.Fprintf(w, "%s  save %s\n", stamp(clk.Now()), c.ID)
		must(engine.Save(ctx, c))
	}
	publish := func(id string) {
		fmt.Fprintf(w, "%s  publish %s\n", stamp(clk.Now()), id)
		must(engine.Publish(ctx, id))
	}
	enroll := func(user, promo string) {
		fmt.Fprintf(w, "%s  %-6s %s %s\n", stamp(clk.Now()), user, event.ControlGroupEnrolled, promo)
		must(engine.Track(ctx, event.Event{UserID: user, Kind: event.ControlGroupEnrolled, CampaignID: promo}))
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

	fmt.Fprintf(w, "%s  apply promo and holdout_survey\n", stamp(clk.Now()))
	must(engine.Apply(ctx, campaigns)) // the survey first, then the promo
	enroll("mia", "promo")

	save(rule.Campaign{ID: "spring_promo"})
	save(rule.Campaign{
		ID:       "spring_survey",
		Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "spring_promo"}},
		Delay:    rule.After(time.Hour),
	})
	publish("spring_promo") // the promo first: spring_survey is still a draft, and the engine warns
	before := decided
	enroll("ned", "spring_promo") // no active follow-up listens: lost, no decision
	noDecision(before, "spring_survey is a draft, so nothing listens; ned gets no survey")
	advance(time.Minute)
	publish("spring_survey") // counts only enrollments from now on
	advance(2 * time.Hour)

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
	case rule.Warned:
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
