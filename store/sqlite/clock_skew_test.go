package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/clockskew"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestSkewedEnginesOnOneDatabase runs the clock-skew experiments of
// package clockskew on two engines sharing one SQLite handle, the second
// engine's clock ahead of the first's, and checks them against the
// documentation.
func TestSkewedEnginesOnOneDatabase(t *testing.T) {
	for _, d := range []time.Duration{0, 10 * time.Second, 15 * time.Second, 16 * time.Second, 2 * time.Minute} {
		open := func(t *testing.T) store.Store { return openStore(t, filepath.Join(t.TempDir(), "cc.db")) }
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
