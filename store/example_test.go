package store_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// An engine keeping its state in memory: for tests, and for a process
// that may forget everything when it stops. The engine is the store's
// usual caller; a host reads the store directly only for diagnostics.
func ExampleNewMemory() {
	ctx := context.Background()
	mem := store.NewMemory()
	engine, err := connector.New(mem, connector.SenderFunc(func(context.Context, connector.Delivery) error {
		return nil // send the follow-up
	}))
	if err != nil {
		panic(err)
	}
	if err := engine.Apply(ctx, []rule.Campaign{{ID: "newsletter"}}); err != nil {
		panic(err)
	}

	_, records, err := mem.Campaigns(ctx, engine.Namespace())
	fmt.Println(len(records), records[0].Campaign.ID, err)
	_, err = mem.User(ctx, engine.Namespace(), "ann")
	fmt.Println(errors.Is(err, store.ErrNotFound))

	// Output:
	// 1 newsletter <nil>
	// true
}
