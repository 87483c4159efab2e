package sqlite_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/internal/lifecyclestress"
	"github.com/campaignconnector/campaignconnector/store"
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
