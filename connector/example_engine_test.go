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

// New builds an engine on a store and a sender, with options; an option
// out of range is refused with ErrInvalidOption, and no engine is built.
func ExampleNew() {
	send := connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
		return nil // hand d to the mail, push or SMS provider here
	})
	engine, err := connector.New(store.NewMemory(), send,
		connector.WithNamespace("shop"),
		connector.WithSendConcurrency(16))
	if err != nil {
		panic(err)
	}
	fmt.Printf("namespace %q, lease %v\n", engine.Namespace(), engine.Lease())

	_, err = connector.New(store.NewMemory(), send, connector.WithSendConcurrency(0))
	fmt.Println(errors.Is(err, connector.ErrInvalidOption), err)
	// Output:
	// namespace "shop", lease 1m0s
	// true connector: invalid option: send concurrency must be at least 1, got 0
}

// Track evaluates one event at once: a trigger schedules the follow-up,
// and an event the engine cannot take is refused with a
// *event.ValidationError naming the field, changing nothing.
func ExampleEngine_Track() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	engine, err := connector.New(store.NewMemory(),
		connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithClock(clk))
	if err != nil {
		panic(err)
	}
	err = engine.Apply(ctx, []rule.Campaign{{ID: "newsletter"}, {
		ID:       "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:    rule.After(7 * 24 * time.Hour),
	}})
	if err != nil {
		panic(err)
	}

	err = engine.Track(ctx, event.Event{Kind: event.EmailReceived, CampaignID: "newsletter"})
	var ve *event.ValidationError
	if errors.As(err, &ve) {
		fmt.Printf("refused: field %q: %s\n", ve.Field, ve.Reason)
	}

	err = engine.Track(ctx, event.Event{ID: "rcv-1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	fmt.Println("tracked:", err)
	page, _ := engine.PendingDeliveries(ctx, store.PendingQuery{})
	for _, c := range page {
		fmt.Println("pending:", c.Pending.CampaignID, "for", c.UserID, "due", c.Pending.DueAt.Format(time.DateTime))
	}
	// Output:
	// refused: field "user_id": required
	// tracked: <nil>
	// pending: resend for ann due 2026-03-09 09:00:00
}

// Tick sends what is due at the clock's now and returns how many
// deliveries the sender accepted: nothing before the due time, the
// delivery once it has come.
func ExampleEngine_Tick() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	send := connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
		fmt.Println(clk.Now().Format(time.Kitchen), "send", d.CampaignID, "to", d.UserID, "attempt", d.Attempt)
		return nil
	})
	engine, err := connector.New(store.NewMemory(), send, connector.WithClock(clk))
	if err != nil {
		panic(err)
	}
	err = engine.Apply(ctx, []rule.Campaign{{ID: "promo"}, {
		ID:       "reminder",
		Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "promo"}},
		Delay:    rule.After(time.Hour),
	}})
	if err != nil {
		panic(err)
	}
	if err := engine.Track(ctx, event.Event{UserID: "ann", Kind: event.PushOpened, CampaignID: "promo"}); err != nil {
		panic(err)
	}

	n, err := engine.Tick(ctx)
	fmt.Println("at once:", n, err)
	clk.Add(time.Hour)
	n, err = engine.Tick(ctx)
	fmt.Println("an hour later:", n, err)
	// Output:
	// at once: 0 <nil>
	// 10:00AM send reminder to ann attempt 1
	// an hour later: 1 <nil>
}

// Run sends deliveries as they fall due until its context ends, then
// returns nil; a Track that schedules a delivery due at once wakes it.
func ExampleEngine_Run() {
	ctx, stop := context.WithCancel(context.Background())
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	sent := make(chan connector.Delivery, 1)
	engine, err := connector.New(store.NewMemory(),
		connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
			sent <- d
			return nil
		}),
		connector.WithClock(clk))
	if err != nil {
		panic(err)
	}
	err = engine.Apply(ctx, []rule.Campaign{{ID: "promo"}, {
		ID:       "thanks",
		Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "promo"}},
	}})
	if err != nil {
		panic(err)
	}

	done := make(chan error, 1)
	go func() { done <- engine.Run(ctx) }()
	if err := engine.Track(ctx, event.Event{UserID: "ann", Kind: event.PushOpened, CampaignID: "promo"}); err != nil {
		panic(err)
	}
	d := <-sent
	fmt.Println("sent", d.CampaignID, "to", d.UserID)

	stop() // at shutdown: Run records the sends in progress, then returns
	fmt.Println("Run returned:", <-done)
	// Output:
	// sent thanks to ann
	// Run returned: <nil>
}
