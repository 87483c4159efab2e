// Command delivery_controls shows the controls around a follow-up: user
// time zones, a send window and a frequency cap. A "tips" email goes out
// the day after a user opens the welcome email, at 08:00 their time, but
// only between 09:00 and 18:00 (so it moves to 09:00), and a user gets at
// most one email per calendar day.
//
//	go run ./examples/delivery_controls
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
	_ "time/tzdata" // the zones must not depend on the machine's tz database

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
	// The host's users and their time zones.
	users := map[string]*time.Location{"ana": load("America/New_York"), "ben": load("Europe/Paris"), "chi": load("Asia/Tokyo")}
	// The directory the engine asks for a user's zone. The host keeps no
	// segments, so LocationFunc: an engine with it refuses to save a
	// campaign with an audience, rather than leave every user out of it
	// (or, from a stub that says yes, put every user in it).
	directory := connector.LocationFunc(func(_ context.Context, user string) (*time.Location, error) {
		return users[user], nil // nil: the engine's default location
	})

	// The sender hands each delivery to the host's mail provider; here it
	// writes it down, in the user's time. A nil error means it was accepted.
	var sent []string
	sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		at := clk.Now().In(users[d.UserID])
		sent = append(sent, fmt.Sprintf("%-6s to %s at %s %s", d.CampaignID, d.UserID, at.Format("Mon 02 Jan 15:04"), at.Location()))
		return nil
	})
	// The observer prints every decision the engine takes, with its reason.
	observer := connector.ObserverFunc(func(d rule.Decision) { fmt.Fprintln(w, describe(d)) })
	mem := store.NewMemory()
	engine, err := connector.New(mem, sender,
		connector.WithClock(clk),
		connector.WithObserver(observer),
		connector.WithSendConcurrency(1), // one send slot: deliveries go out in due order
		connector.WithDirectory(directory),
		// At most one email per user and calendar day of the user's zone.
		connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Channel: event.Email, Days: 1}),
	)
	must(err)

	fmt.Fprintln(w, "Time zones, a send window and a frequency cap (timeline in UTC)")
	// The campaigns as code: Apply saves them and publishes the follow-ups
	// before the email that triggers them, so that no open or click is
	// lost. A restart applying the same set changes nothing.
	campaigns := []rule.Campaign{
		{ID: "welcome"}, // the original: the host sends it
		{
			ID:       "tips",
			Channel:  event.Email, // what frequency caps count
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "welcome"}},
			Delay:    rule.InDaysAt(1, 8, 0), // tomorrow at 08:00, the user's time
			SendWindow: &rule.SendWindow{ // 09:00 to 18:00, the user's time
				From: rule.At(9, 0), To: rule.At(18, 0),
				NextAvailable: true, // outside the window: wait for its next opening
			},
		},
		{
			ID:       "survey",
			Channel:  event.Email,
			Triggers: []rule.Trigger{{Kind: event.EmailClicked, CampaignID: "welcome"}},
			Delay:    rule.After(20 * time.Hour),
		},
	}
	fmt.Fprintf(w, "%s  apply welcome, tips and survey\n", stamp(clk.Now()))
	must(engine.Apply(ctx, campaigns))

	track := func(user string, kind event.Kind) {
		fmt.Fprintf(w, "%s  %-6s %s welcome\n", stamp(clk.Now()), user, kind)
		must(engine.Track(ctx, event.Event{UserID: user, Kind: kind, CampaignID: "welcome"}))
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

	for _, u := range []string{"ana", "ben", "chi"} {
		track(u, event.EmailOpened)
	}
	// ben also clicks: the survey falls due the same Paris day as his tips,
	// and the cap allows one email a day, so the tips are suppressed.
	track("ben", event.EmailClicked)
	advance(3 * 24 * time.Hour)

	fmt.Fprintln(w, "sent, in each user's time:")
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
	default: // cancelled, suppressed, deferred…: the reason says why
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

func load(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	must(err)
	return loc
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
