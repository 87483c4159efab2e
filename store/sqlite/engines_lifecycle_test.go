package sqlite_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/internal/lifecyclestress"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// TestEnginesUnderLifecycleRaces runs the lifecycle stress with two
// engines, each on a store of its own opened on one file.
func TestEnginesUnderLifecycleRaces(t *testing.T) {
	accepted := 0
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			path := testPath(t)
			accepted += lifecyclestress.Run(t, seed, 150, func() store.Store { return openStore(t, path) })
		})
	}
	require.NotZero(t, accepted, "some seed sent something")
}

// TestEnginesUnderRetentionRaces runs the retention stress (dedup windows
// of minutes, Prune running, events coming again inside and past their
// window) with two engines, each on a store of its own opened on one
// file, which see each other's campaign changes within a millisecond
// (the stress waits for them to, between its rounds).
func TestEnginesUnderRetentionRaces(t *testing.T) {
	accepted := 0
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			path := testPath(t)
			accepted += lifecyclestress.RunRetention(t, seed, 30, func() store.Store {
				return openStore(t, path, sqlite.WithRevisionMaxAge(time.Millisecond))
			})
		})
	}
	require.NotZero(t, accepted, "some seed sent something")
}
