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

// Send a 15 % coupon at once to users who open the free-shipping push or
// click any of its buttons. A user gets the coupon once: re-eligibility is
// off by default.
func Example_freeShippingCoupon() {
	ctx := context.Background()
	clk := clock.NewMock() // a clock moved by hand: the output is deterministic
	clk.Set(time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC))

	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		fmt.Printf("send %s to %s: %s\n", d.CampaignID, d.UserID, d.Message)
		return nil
	})
	observe := connector.ObserverFunc(func(d rule.Decision) {
		if d.Kind == rule.Applied {
			return // what Apply changed: the users' decisions follow
		}
		line := fmt.Sprintf("%s %s %s for %s", d.At.Format("15:04"), d.Kind, d.CampaignID, d.UserID)
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
		{ID: "free_shipping"}, // the original: the host sends the push
		{
			ID: "coupon_15",
			Triggers: []rule.Trigger{ // any one is enough
				{Kind: event.PushOpened, CampaignID: "free_shipping"},
				{Kind: event.PushButtonClicked, CampaignID: "free_shipping"}, // any button; Target selects one
			},
			// No Delay: due at the trigger's time.
			Message: []byte(`{"coupon":"SAVE15"}`),
		},
	}); err != nil {
		panic(err)
	}

	_ = engine.Track(ctx, event.Event{UserID: "hana", Kind: event.PushOpened, CampaignID: "free_shipping"})
	_ = engine.Track(ctx, event.Event{UserID: "ivan", Kind: event.PushButtonClicked, CampaignID: "free_shipping", Target: "shop_now"})
	_, _ = engine.Tick(ctx) // Track never sends; under Run the tick follows at once

	clk.Add(time.Minute)
	_ = engine.Track(ctx, event.Event{UserID: "hana", Kind: event.PushOpened, CampaignID: "free_shipping"})

	// Output:
	// 09:00 scheduled coupon_15 for hana
	// 09:00 scheduled coupon_15 for ivan
	// send coupon_15 to hana: {"coupon":"SAVE15"}
	// 09:00 delivered coupon_15 for hana
	// send coupon_15 to ivan: {"coupon":"SAVE15"}
	// 09:00 delivered coupon_15 for ivan
	// 09:01 suppressed coupon_15 for hana: not_reeligible
}
