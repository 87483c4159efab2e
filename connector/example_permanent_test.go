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

// errNoMailbox stands for a provider's answer that no retry can change.
var errNoMailbox = errors.New("550 5.1.1 mailbox unavailable")

// A sender marks the errors no retry can fix as permanent: the delivery
// fails at once instead of being tried again over the retry policy.
func ExamplePermanent() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	send := connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
		fmt.Printf("attempt %d to %s\n", d.Attempt, d.UserID)
		return connector.Permanent(errNoMailbox) // say, the provider answered 550
	})
	engine, err := connector.New(store.NewMemory(), send, connector.WithClock(clk),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			if d.Kind == rule.Failed {
				fmt.Printf("%s %s: %s\n", d.Kind, d.Reason, d.Detail)
			}
		})))
	if err != nil {
		panic(err)
	}
	err = engine.Apply(ctx, []rule.Campaign{{ID: "welcome"}, {
		ID:       "tips",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "welcome"}},
		Delay:    rule.After(24 * time.Hour),
	}})
	if err != nil {
		panic(err)
	}
	_ = engine.Track(ctx, event.Event{ID: "rcv-1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "welcome"})
	for range 3 { // a day, then the retry policy's first waits: nothing more is tried
		clk.Add(24 * time.Hour)
		_, _ = engine.Tick(ctx)
	}
	// Output:
	// attempt 1 to ann
	// failed send_error: 550 5.1.1 mailbox unavailable (permanent: not retried)
}
