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

// Campaigns defined in code, applied at every start: the first start
// creates and publishes them (the follow-up before its original), a
// restart changes nothing, and a set with a mistake changes nothing
// either.
func ExampleEngine_Apply() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	report := connector.ObserverFunc(func(d rule.Decision) {
		if d.Kind == rule.Applied {
			fmt.Printf("  %s %s (%s)\n", d.Reason, d.CampaignID, d.Detail)
		}
	})
	campaigns := []rule.Campaign{
		{ID: "newsletter"},
		{
			ID:         "resend",
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay:      rule.After(7 * 24 * time.Hour),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
		},
	}
	s := store.NewMemory()
	for start := 1; start <= 2; start++ {
		fmt.Println("start", start)
		engine, err := connector.New(s, noop, connector.WithClock(clk), connector.WithObserver(report))
		if err != nil {
			panic(err)
		}
		if err := engine.Apply(ctx, campaigns); err != nil {
			panic(err)
		}
	}

	engine, _ := connector.New(s, noop, connector.WithClock(clk))
	typo := rule.Campaign{ID: "welcome", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsleter"}}}
	err := engine.Apply(ctx, append(campaigns, typo))
	var bad *connector.CampaignError
	if errors.As(err, &bad) && errors.Is(err, connector.ErrUnknownCampaign) {
		fmt.Println("refused:", bad.CampaignID)
		fmt.Println(err)
	}
	// Output:
	// start 1
	//   created newsletter (saved as a draft)
	//   created resend (saved as a draft)
	//   published resend (draft → active)
	//   published newsletter (draft → active)
	// start 2
	// refused: welcome
	// connector: campaign "welcome": triggers[0].campaign_id: campaign "newsleter" is not known (did you mean "newsletter"?) (connector: unknown campaign)
}
