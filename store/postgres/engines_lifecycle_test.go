package postgres_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/internal/lifecyclestress"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// TestEnginesUnderLifecycleRaces runs the lifecycle stress with two
// engines, each on a store of its own opened on one schema.
func TestEnginesUnderLifecycleRaces(t *testing.T) {
	testDSN(t) // skips the whole test without a server, not only its seeds
	accepted := 0
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			schema := testSchema(t)
			accepted += lifecyclestress.Run(t, seed, 150, func() store.Store { return openStore(t, postgres.WithSchema(schema)) })
		})
	}
	require.NotZero(t, accepted, "some seed sent something")
}

// TestEnginesUnderRetentionRaces runs the retention stress (dedup windows
// of minutes, Prune running, events coming again inside and past their
// window) with two engines, each on a store of its own opened on one
// schema.
func TestEnginesUnderRetentionRaces(t *testing.T) {
	testDSN(t) // skips the whole test without a server, not only its seeds
	accepted := 0
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			schema := testSchema(t)
			accepted += lifecyclestress.RunRetention(t, seed, 30, func() store.Store { return openStore(t, postgres.WithSchema(schema)) })
		})
	}
	require.NotZero(t, accepted, "some seed sent something")
}
