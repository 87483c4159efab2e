// Package demo prints the timelines of the runnable examples: a simulator
// whose decisions and deliveries are written as they happen.
package demo

import (
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
)

// Start is when every example begins: Monday 5 January 2026, 09:00 UTC.
var Start = time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)

// Demo is a simulator that narrates.
type Demo struct {
	*simulate.Simulator
	out io.Writer
}

// New prints title and returns a demo whose clock is at [Start].
func New(out io.Writer, title string, opts ...connector.Option) *Demo {
	d := &Demo{out: out}
	opts = append([]connector.Option{connector.WithObserver(connector.ObserverFunc(d.decision))}, opts...)
	sim, err := simulate.New(Start, opts...)
	must(err)
	d.Simulator = sim
	fmt.Fprintln(out, title)
	return d
}

// Stamp formats a time the way the timelines show it, in UTC.
func Stamp(t time.Time) string { return t.UTC().Format("Mon 02 Jan 15:04") }

// Say prints a line of narrative at the current time.
func (d *Demo) Say(format string, args ...any) {
	fmt.Fprintf(d.out, "%s  %s\n", Stamp(d.Now()), fmt.Sprintf(format, args...))
}

// Save saves campaigns.
func (d *Demo) Save(campaigns ...rule.Campaign) { must(d.Simulator.Save(campaigns...)) }

// Publish publishes campaigns in order and says so.
func (d *Demo) Publish(ids ...string) {
	d.Say("publish %s", strings.Join(ids, ", then "))
	must(d.Simulator.Publish(ids...))
}

// Track prints an event and tracks it.
func (d *Demo) Track(ev event.Event) {
	what := string(ev.Kind)
	if ev.CampaignID != "" {
		what += " " + ev.CampaignID
	}
	if ev.Target != "" {
		what += " [" + ev.Target + "]"
	}
	if ev.Name != "" {
		what += " " + ev.Name
	}
	if !ev.Time.IsZero() && !ev.Time.Equal(d.Now()) {
		what += " (happened " + Stamp(ev.Time) + ")"
	}
	d.Say("%-6s %s", ev.UserID, what)
	must(d.Simulator.Track(ev))
}

// Advance moves time forward, sending what falls due on the way.
func (d *Demo) Advance(dur time.Duration) {
	_, err := d.Simulator.Advance(dur)
	must(err)
}

// decision narrates one decision.
func (d *Demo) decision(dec rule.Decision) {
	var line string
	switch dec.Kind {
	case rule.Scheduled:
		line = fmt.Sprintf("→ %s scheduled for %s, due %s", dec.CampaignID, dec.UserID, Stamp(dec.DueAt))
	case rule.Delivered:
		line = fmt.Sprintf("← %s delivered to %s", dec.CampaignID, dec.UserID)
	case rule.Warning:
		line = fmt.Sprintf("! warning about %s: %s", dec.CampaignID, dec.Reason)
	default:
		line = fmt.Sprintf("× %s %s for %s: %s", dec.CampaignID, dec.Kind, dec.UserID, dec.Reason)
		if dec.Rule != "" {
			line += " (" + dec.Rule + ")"
		}
	}
	fmt.Fprintf(d.out, "%s      %s\n", Stamp(dec.At), line)
}

// Summary prints who received what.
func (d *Demo) Summary() {
	fmt.Fprintln(d.out, "sent:")
	for _, s := range d.Sent() {
		fmt.Fprintf(d.out, "  %s to %s at %s (message %s)\n", s.CampaignID, s.UserID, Stamp(d.Sender.SentAt(s.ID)), s.Message)
	}
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
