package connector_test

import (
	"context"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Controls around the follow-ups: a send window moves a due time to the
// window's next opening, quiet hours defer a delivery to their end, and a
// frequency cap suppresses a delivery that would exceed it. Times are UTC,
// the engine's default zone; WithDirectory gives each user their own.
func Example_deliveryControls() {
	ctx := context.Background()
	clk := clock.NewMock() // a clock moved by hand: the output is deterministic
	clk.Set(time.Date(2026, time.March, 2, 10, 0, 0, 0, time.UTC))

	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	observe := connector.ObserverFunc(func(d rule.Decision) {
		line := fmt.Sprintf("%s %s %s for %s", d.At.Format("Mon 15:04"), d.Kind, d.CampaignID, d.UserID)
		if d.Reason != "" {
			line += ": " + string(d.Reason)
		}
		if d.Kind == rule.Scheduled {
			line += ", due " + d.DueAt.Format("Mon 15:04")
		}
		fmt.Println(line)
	})
	engine, err := connector.New(store.NewMemory(), send,
		connector.WithClock(clk), connector.WithObserver(observe), connector.WithSendConcurrency(1),
		// At most one email per user in any 24 hours.
		connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Channel: event.Email, Window: 24 * time.Hour}),
		// Nothing is sent from 21:00 to 08:00; what falls due then waits until 08:00.
		connector.WithQuietHours(connector.QuietHours{From: rule.At(21, 0), To: rule.At(8, 0), Defer: true}),
	)
	if err != nil {
		panic(err)
	}

	_ = engine.Save(ctx, rule.Campaign{ID: "welcome"})
	_ = engine.Save(ctx, rule.Campaign{
		ID:         "tips",
		Channel:    event.Email, // what the frequency cap counts
		Triggers:   []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "welcome"}},
		Delay:      rule.After(12 * time.Hour),
		SendWindow: &rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 0), NextAvailable: true},
	})
	_ = engine.Save(ctx, rule.Campaign{
		ID:       "survey",
		Channel:  event.Email,
		Triggers: []rule.Trigger{{Kind: event.EmailClicked, CampaignID: "welcome"}},
		Delay:    rule.After(time.Hour),
	})
	for _, id := range []string{"tips", "survey", "welcome"} {
		_ = engine.Publish(ctx, id)
	}

	// ann opens and clicks at 10:00: the tips would be due at 22:00, after
	// the window closes, so they move to its next opening.
	_ = engine.Track(ctx, event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "welcome"})
	_ = engine.Track(ctx, event.Event{UserID: "ann", Kind: event.EmailClicked, CampaignID: "welcome"})
	// Tick at each due time, as Run does by itself.
	clk.Add(time.Hour) // 11:00: ann's survey
	_, _ = engine.Tick(ctx)

	clk.Set(time.Date(2026, time.March, 2, 20, 30, 0, 0, time.UTC))
	_ = engine.Track(ctx, event.Event{UserID: "bob", Kind: event.EmailClicked, CampaignID: "welcome"})
	clk.Add(time.Hour) // 21:30: bob's survey, in quiet hours
	_, _ = engine.Tick(ctx)
	clk.Set(time.Date(2026, time.March, 3, 8, 0, 0, 0, time.UTC)) // the quiet hours end
	_, _ = engine.Tick(ctx)
	clk.Add(time.Hour) // 09:00: ann's tips, 22 hours after her survey
	_, _ = engine.Tick(ctx)

	// Output:
	// Mon 10:00 scheduled tips for ann, due Tue 09:00
	// Mon 10:00 scheduled survey for ann, due Mon 11:00
	// Mon 11:00 delivered survey for ann
	// Mon 20:30 scheduled survey for bob, due Mon 21:30
	// Mon 21:30 deferred survey for bob: quiet_hours
	// Tue 08:00 delivered survey for bob
	// Tue 09:00 suppressed tips for ann: frequency_capped
}
