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

// The events of a batch that TrackAll did not track, each with its index in
// the batch: a host answers its provider or queue item by item.
func ExampleTrackErrors() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	engine, err := connector.New(store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithClock(clk))
	if err != nil {
		panic(err)
	}
	// Apply saves the campaigns and publishes each follow-up before the
	// campaign it triggers on.
	if err := engine.Apply(ctx, []rule.Campaign{
		{ID: "newsletter"},
		{
			ID:       "resend",
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay:    rule.After(7 * 24 * time.Hour),
		},
	}); err != nil {
		panic(err)
	}

	err = engine.TrackAll(ctx, []event.Event{
		{ID: "sg-1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"},
		{ID: "sg-2", UserID: "bob", Kind: "email_recieved", CampaignID: "newsletter"}, // a typo
		{ID: "sg-3", Kind: event.EmailReceived, CampaignID: "newsletter"},             // no user
		{ID: "sg-4", UserID: "cid", Kind: event.EmailReceived, CampaignID: "newsletter"},
	})
	for _, te := range connector.TrackErrors(err) {
		fmt.Printf("event %d: %v\n", te.Index, te.Err)
	}
	// Output:
	// event 1: event: kind: unknown kind "email_recieved" (did you mean "email_received"?) (unknown event kind)
	// event 2: event: user_id: required
}
