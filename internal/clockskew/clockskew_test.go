package clockskew_test

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/clockskew"
	"github.com/campaignconnector/campaignconnector/store"
)

// skews are the skews the experiments try, the engine ahead's.
var skews = []time.Duration{0, time.Second, 10 * time.Second, 14 * time.Second, 15 * time.Second,
	16 * time.Second, 30 * time.Second, 2 * time.Minute}

// TestSkewedEnginesOnTheMemoryStore runs the clock-skew experiments on two
// engines sharing a memory store, and checks them against the
// documentation. Run with -v, it logs the measurements.
func TestSkewedEnginesOnTheMemoryStore(t *testing.T) {
	open := func(*testing.T) store.Store { return store.NewMemory() }
	for _, d := range skews {
		r := clockskew.Leases(t, open, d)
		t.Logf("leases   %v", r)
		clockskew.CheckLeases(t, r)
		if d < time.Minute {
			r = clockskew.Controls(t, open, d)
			t.Logf("controls %v", r)
			clockskew.CheckControls(t, r)
		}
	}
}
