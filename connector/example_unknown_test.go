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

// Events naming a campaign the engine does not know are ignored and
// counted; UnknownCampaigns says which IDs they named, and which known
// campaign each most likely misspells.
func ExampleEngine_UnknownCampaigns() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	engine, err := connector.New(store.NewMemory(), send, connector.WithClock(clk))
	if err != nil {
		panic(err)
	}
	if err := engine.Save(ctx, rule.Campaign{ID: "newsletter"}); err != nil {
		panic(err)
	}

	for _, user := range []string{"ann", "bob"} {
		// A typo in the metadata of the messages sent.
		if err := engine.Track(ctx, event.Event{UserID: user, Kind: event.EmailOpened, CampaignID: "newsleter"}); err != nil {
			panic(err)
		}
	}
	fmt.Println("ignored:", engine.EventCounts().Ignored[rule.ReasonUnknownCampaign])
	for _, u := range engine.UnknownCampaigns() {
		fmt.Printf("%q: %d events, the latest at %s; did you mean %q?\n", u.ID, u.Events, u.Last.Format(time.Kitchen), u.Suggestion)
	}
	// Output:
	// ignored: 2
	// "newsleter": 2 events, the latest at 9:00AM; did you mean "newsletter"?
}
