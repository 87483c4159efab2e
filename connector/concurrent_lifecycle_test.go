package connector_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/internal/lifecyclestress"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestEnginesUnderLifecycleRaces runs two engines on one memory store,
// each ticking in a loop, while goroutines track triggers (each reported
// to both engines at once), exceptions, and stop, resume and edit the
// follow-ups, and the clock moves. Once everything due has been ticked,
// every delivery was accepted at most once, has exactly one outcome
// observed, delivered exactly when the sender accepted it, and nothing is
// left pending (lifecyclestress.Run; SQLite's and PostgreSQL's tests run
// the same). Seeds 1-8: each about 60 ticks, 100 deliveries scheduled,
// 50 sender calls.
func TestEnginesUnderLifecycleRaces(t *testing.T) {
	accepted := 0
	for _, seed := range []uint64{1, 2, 3, 4, 5, 6, 7, 8} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			mem := store.NewMemory()
			accepted += lifecyclestress.Run(t, seed, 150, func() store.Store { return mem })
		})
	}
	require.NotZero(t, accepted, "some seed sent something")
}

// TestEnginesUnderRetentionRaces runs two engines on one memory store
// with a dedup window of minutes, a decision log and Prune running, while
// events come again inside and past their window (lifecyclestress.
// RunRetention; SQLite's and PostgreSQL's tests run the same): each is a
// duplicate inside its window and processed once past it, the decision
// log and the tallies hold exactly the decisions observed, and nothing
// is left pending.
func TestEnginesUnderRetentionRaces(t *testing.T) {
	accepted := 0
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			mem := store.NewMemory()
			accepted += lifecyclestress.RunRetention(t, seed, 30, func() store.Store { return mem })
		})
	}
	require.NotZero(t, accepted, "some seed sent something")
}
