package connector_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// A follow-up that resends the newsletter a week after receipt to users who
// did not open it, on a mock clock.
func Example() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	send := connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
		fmt.Printf("%s: send %s to %s (delivery %s…)\n", clk.Now().Format("Jan 2"), d.CampaignID, d.UserID, d.ID[:8])
		return nil // the provider accepted it
	})
	engine, err := connector.New(store.NewMemory(), send, connector.WithClock(clk))
	if err != nil {
		panic(err)
	}

	// The campaigns as code: Apply saves them and publishes the follow-up
	// before the original it triggers on.
	err = engine.Apply(ctx, []rule.Campaign{{ID: "newsletter"}, {
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(7 * 24 * time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
	}})
	if err != nil {
		panic(err)
	}

	for _, user := range []string{"ann", "bob"} {
		_ = engine.Track(ctx, event.Event{ID: "rcv-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"})
	}
	clk.Add(48 * time.Hour)
	_ = engine.Track(ctx, event.Event{UserID: "bob", Kind: event.EmailOpened, CampaignID: "newsletter"})

	clk.Add(5 * 24 * time.Hour)
	n, _ := engine.Tick(ctx)
	fmt.Println("sent:", n)
	// Output:
	// Mar 9: send resend to ann (delivery VWxRTy43…)
	// sent: 1
}

// Observers see every decision, with its reason.
func ExampleWithObserver() {
	ctx := context.Background()
	clk := clock.NewMock()
	explain := connector.ObserverFunc(func(d rule.Decision) {
		line := fmt.Sprint(d.Kind, " ", d.CampaignID, " ", d.UserID)
		if d.Reason != "" {
			line += " (" + string(d.Reason) + ")"
		}
		fmt.Println(line)
	})
	engine, _ := connector.New(store.NewMemory(),
		connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithClock(clk), connector.WithObserver(explain))
	_ = engine.Save(ctx, rule.Campaign{ID: "promo"})
	_ = engine.Save(ctx, rule.Campaign{ID: "coupon", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "promo"}}})
	_ = engine.Publish(ctx, "coupon")
	_ = engine.Track(ctx, event.Event{UserID: "ann", Kind: event.PushOpened, CampaignID: "promo"}) // promo is a draft
	_ = engine.Publish(ctx, "promo")
	_ = engine.Track(ctx, event.Event{UserID: "ann", Kind: event.PushOpened, CampaignID: "promo"})
	_ = engine.Track(ctx, event.Event{UserID: "ann", Kind: event.PushOpened, CampaignID: "promo"})
	_, _ = engine.Tick(ctx)
	// Output:
	// suppressed coupon ann (original_not_active)
	// scheduled coupon ann
	// suppressed coupon ann (already_pending)
	// delivered coupon ann
}

// A batch of events, as a provider's webhook posts them: TrackAll tracks
// the valid ones and reports the others by index.
func ExampleEngine_TrackAll() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	engine, err := connector.New(store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithClock(clk))
	if err != nil {
		panic(err)
	}
	_ = engine.Save(ctx, rule.Campaign{ID: "newsletter"})
	_ = engine.Save(ctx, rule.Campaign{
		ID:       "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:    rule.After(7 * 24 * time.Hour),
	})
	_ = engine.Publish(ctx, "resend")
	_ = engine.Publish(ctx, "newsletter")

	err = engine.TrackAll(ctx, []event.Event{
		{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"},
		{UserID: "bob", Kind: "email_recieved", CampaignID: "newsletter"}, // a typo
		{UserID: "cid", Kind: event.EmailReceived, CampaignID: "newsletter"},
	})
	var te *connector.TrackError
	if errors.As(err, &te) {
		fmt.Println("event", te.Index, "not tracked:", errors.Is(err, event.ErrUnknownKind))
	}
	stats, _ := engine.Stats(ctx)
	fmt.Println("pending:", stats.Pending)
	// Output:
	// event 1 not tracked: true
	// pending: 2
}
