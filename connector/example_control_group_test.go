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

// Hold out half of the users a win-back offer would reach, to measure what
// it brings. Held-out users get nothing and count as having received it;
// the engine reports their enrollment as a control_group_enrolled
// interaction with the offer, on which another follow-up (here a survey)
// can trigger.
func Example_controlGroup() {
	ctx := context.Background()
	clk := clock.NewMock() // a clock moved by hand: the output is deterministic
	clk.Set(time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC))

	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	observe := connector.ObserverFunc(func(d rule.Decision) {
		line := fmt.Sprintf("%s %s %s for %s", d.At.Format("Mon 15:04"), d.Kind, d.CampaignID, d.UserID)
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

	_ = engine.Save(ctx, rule.Campaign{ID: "newsletter"})
	_ = engine.Save(ctx, rule.Campaign{
		ID:             "winback",
		Triggers:       []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:          rule.After(24 * time.Hour),
		ControlPercent: 50, // a stable half of the users: rule.ControlBucket(user, "winback") < 50
	})
	_ = engine.Save(ctx, rule.Campaign{
		ID:       "survey",
		Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "winback"}},
		Delay:    rule.After(time.Hour),
	})
	for _, id := range []string{"survey", "winback", "newsletter"} { // follow-ups before what triggers them
		_ = engine.Publish(ctx, id)
	}

	receive := func(users ...string) {
		for _, user := range users {
			_ = engine.Track(ctx, event.Event{UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"})
		}
	}
	receive("ann", "bob")
	clk.Add(time.Hour)
	receive("cid", "jon")

	// Tick at each due time, as Run does by itself.
	clk.Set(time.Date(2026, time.March, 3, 9, 0, 0, 0, time.UTC)) // ann's and bob's offers
	_, _ = engine.Tick(ctx)
	clk.Add(time.Hour) // cid's and jon's
	_, _ = engine.Tick(ctx)
	clk.Add(time.Hour) // the surveys
	_, _ = engine.Tick(ctx)

	// Output:
	// Mon 09:00 scheduled winback for ann
	// Mon 09:00 scheduled winback for bob
	// Mon 10:00 scheduled winback for cid
	// Mon 10:00 scheduled winback for jon
	// Tue 09:00 delivered winback for ann
	// Tue 09:00 delivered winback for bob
	// Tue 10:00 held_out winback for cid: control_group
	// Tue 10:00 scheduled survey for cid
	// Tue 10:00 held_out winback for jon: control_group
	// Tue 10:00 scheduled survey for jon
	// Tue 11:00 delivered survey for cid
	// Tue 11:00 delivered survey for jon
}
