package connector_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestEnginesOfDifferentSendConcurrencyInOneProcess checks that engines
// with different send concurrencies can tick in turn in one process: each
// Tick gets as many working send slots as its engine asks for, whatever
// the engine that ticked before used.
func TestEnginesOfDifferentSendConcurrencyInOneProcess(t *testing.T) {
	clk := clock.NewMock()
	rec := &recorder{}
	var engines []*connector.Engine
	for _, n := range []int{3, 8, 5, 17} {
		e, err := connector.New(store.NewMemory(), rec, connector.WithClock(clk), connector.WithSendConcurrency(n))
		require.NoError(t, err)
		var users []string
		for i := range 20 {
			users = append(users, fmt.Sprint("u", i))
		}
		dueFor(t, e, users...)
		engines = append(engines, e)
	}
	// Each engine has 40 deliveries due; every Tick sends them all.
	for round := range 3 {
		for _, e := range engines {
			n, err := e.Tick(context.Background())
			require.NoError(t, err)
			if round == 0 {
				require.Equal(t, 40, n)
			}
		}
	}
	require.Equal(t, 4*40, rec.count())
}
