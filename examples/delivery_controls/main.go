// Command delivery_controls shows the controls around a follow-up: user
// time zones, a send window and a frequency cap. A "tips" email goes out
// the day after a user opens the welcome email, at 08:00 their time, but
// only between 09:00 and 18:00 (so it moves to 09:00), and at most one
// email per calendar day per user.
//
//	go run ./examples/delivery_controls
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
	_ "time/tzdata" // zones must not depend on the machine's tz database

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/examples/internal/demo"
	"github.com/campaignconnector/campaignconnector/rule"
)

func main() { run(os.Stdout) }

// zones is the host's user directory.
type zones map[string]*time.Location

func (z zones) Location(_ context.Context, user string) (*time.Location, error) { return z[user], nil }
func (z zones) InSegment(context.Context, string, string) (bool, error)         { return true, nil }

func load(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func run(w io.Writer) {
	users := zones{"ana": load("America/New_York"), "ben": load("Europe/Paris"), "chi": load("Asia/Tokyo")}
	d := demo.New(w, "Time zones, a send window and a frequency cap (timeline in UTC)",
		connector.WithDirectory(users),
		connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Channel: event.Email, Days: 1}),
	)
	d.Save(
		rule.Campaign{ID: "welcome"},
		rule.Campaign{
			ID:       "tips",
			Channel:  event.Email,
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "welcome"}},
			Delay:    rule.InDaysAt(1, 8, 0), // tomorrow 08:00, user's time
			SendWindow: &rule.SendWindow{
				From: rule.At(9, 0), To: rule.At(18, 0), NextAvailable: true,
			},
		},
		rule.Campaign{
			ID:       "survey",
			Channel:  event.Email,
			Triggers: []rule.Trigger{{Kind: event.EmailClicked, CampaignID: "welcome"}},
			Delay:    rule.After(20 * time.Hour),
		},
	)
	d.Publish("tips", "survey", "welcome")
	for _, u := range []string{"ana", "ben", "chi"} {
		d.Track(event.Event{UserID: u, Kind: event.EmailOpened, CampaignID: "welcome"})
	}
	// ben also clicks: the survey falls due the same Paris day as the
	// tips, and the cap allows one email a day.
	d.Track(event.Event{UserID: "ben", Kind: event.EmailClicked, CampaignID: "welcome"})
	d.Advance(3 * 24 * time.Hour)
	fmt.Fprintln(w, "sent, in each user's time:")
	for _, s := range d.Sent() {
		at := d.Sender.SentAt(s.ID).In(users[s.UserID])
		fmt.Fprintf(w, "  %-6s to %s at %s %s\n", s.CampaignID, s.UserID, at.Format("Mon 02 Jan 15:04"), at.Location())
	}
}
