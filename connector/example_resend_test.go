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

// Resend the newsletter a week after receipt to the users who did not open
// it. An open cancels the resend only while the user waits for it: cid
// opened an email of the newsletter campaign before this one reached her,
// so she still gets the resend.
func Example_resendToNonOpeners() {
	ctx := context.Background()
	clk := clock.NewMock() // a clock moved by hand: the output is deterministic
	clk.Set(time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC))

	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		fmt.Println(clk.Now().Format("Mon Jan 2 15:04"), "send", d.CampaignID, "to", d.UserID)
		return nil // the provider accepted it: the user has received it
	})
	observe := connector.ObserverFunc(func(d rule.Decision) {
		if d.Kind == rule.Applied {
			return // what Apply changed: the users' decisions follow
		}
		line := fmt.Sprintf("%s %s %s for %s", d.At.Format("Mon Jan 2 15:04"), d.Kind, d.CampaignID, d.UserID)
		if d.Reason != "" {
			line += ": " + string(d.Reason)
		}
		fmt.Println(line)
	})
	engine, err := connector.New(store.NewMemory(), send,
		connector.WithClock(clk), connector.WithObserver(observe), connector.WithSendConcurrency(1))
	if err != nil {
		panic(err)
	}

	// Apply saves the campaigns and publishes each follow-up before the
	// campaign it triggers on.
	if err := engine.Apply(ctx, []rule.Campaign{
		{ID: "newsletter"}, // the original: the host sends it
		{
			ID:         "resend",
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay:      rule.After(7 * 24 * time.Hour),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
		},
	}); err != nil {
		panic(err)
	}

	// The host sends the newsletter; its mail provider reports what happens.
	_ = engine.Track(ctx, event.Event{ID: "open-c", UserID: "cid", Kind: event.EmailOpened, CampaignID: "newsletter",
		Time: clk.Now().Add(-time.Hour)}) // an earlier copy of the newsletter
	for _, user := range []string{"ann", "bob", "cid"} {
		_ = engine.Track(ctx, event.Event{ID: "rcv-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"})
	}
	clk.Add(2 * 24 * time.Hour)
	_ = engine.Track(ctx, event.Event{ID: "open-b", UserID: "bob", Kind: event.EmailOpened, CampaignID: "newsletter"})

	clk.Add(5 * 24 * time.Hour) // the resends fall due
	_, _ = engine.Tick(ctx)     // Run ticks by itself when something falls due

	// Output:
	// Mon Mar 2 09:00 scheduled resend for ann
	// Mon Mar 2 09:00 scheduled resend for bob
	// Mon Mar 2 09:00 scheduled resend for cid
	// Wed Mar 4 09:00 cancelled resend for bob: exception
	// Mon Mar 9 09:00 send resend to ann
	// Mon Mar 9 09:00 delivered resend for ann
	// Mon Mar 9 09:00 send resend to cid
	// Mon Mar 9 09:00 delivered resend for cid
}
