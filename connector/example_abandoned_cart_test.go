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

// Remind users of their cart a day after the abandoned-cart push, unless
// they buy something or open the push in the meantime. A purchase before
// the push cancels nothing: the user was not waiting yet.
func Example_abandonedCart() {
	ctx := context.Background()
	clk := clock.NewMock() // a clock moved by hand: the output is deterministic
	clk.Set(time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC))

	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	observe := connector.ObserverFunc(func(d rule.Decision) {
		if d.Kind == rule.Applied {
			return // what Apply changed: the users' decisions follow
		}
		line := fmt.Sprintf("%s %s %s for %s", d.At.Format("Mon 15:04"), d.Kind, d.CampaignID, d.UserID)
		if d.Reason != "" {
			line += ": " + string(d.Reason) + " (" + d.Rule + ")"
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
		{ID: "abandoned_cart"}, // the original: the host sends the push
		{
			ID:       "cart_reminder",
			Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Delay:    rule.After(24 * time.Hour),
			Exceptions: []rule.Exception{ // any one cancels the wait
				{Kind: event.Purchase}, // any product; Name would select one
				{Kind: event.PushOpened, CampaignID: "abandoned_cart"},
			},
		},
	}); err != nil {
		panic(err)
	}

	_ = engine.Track(ctx, event.Event{UserID: "dan", Kind: event.Purchase, Name: "socks"}) // before the push
	for _, user := range []string{"dan", "eve", "fay"} {
		_ = engine.Track(ctx, event.Event{UserID: user, Kind: event.PushReceived, CampaignID: "abandoned_cart"})
	}
	clk.Add(3 * time.Hour)
	_ = engine.Track(ctx, event.Event{UserID: "eve", Kind: event.Purchase, Name: "shoes",
		Properties: map[string]any{"price": 89.9}})
	_ = engine.Track(ctx, event.Event{UserID: "fay", Kind: event.PushOpened, CampaignID: "abandoned_cart"})

	clk.Add(21 * time.Hour) // the reminders fall due
	_, _ = engine.Tick(ctx)

	// Output:
	// Mon 09:00 scheduled cart_reminder for dan
	// Mon 09:00 scheduled cart_reminder for eve
	// Mon 09:00 scheduled cart_reminder for fay
	// Mon 12:00 cancelled cart_reminder for eve: exception (purchase)
	// Mon 12:00 cancelled cart_reminder for fay: exception (push_opened of "abandoned_cart")
	// Tue 09:00 delivered cart_reminder for dan
}
