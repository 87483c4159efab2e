package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/controlstress"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// TestTwoEnginesKeepTheDeliveryControls runs the delivery-control attack
// of package controlstress on two engines, each on a handle of its own on
// one database file. The attack requires that nothing of a stopped
// follow-up goes out once Stop has returned, from either engine, while a
// handle may see another's campaign changes up to its revision max age
// later (a second of real time by default, which is hours of the
// attack's clock): the handles here read the revision on every call.
func TestTwoEnginesKeepTheDeliveryControls(t *testing.T) {
	for seed := range uint64(4) {
		t.Run("", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cc.db")
			controlstress.Run(t, func(t *testing.T) store.Store { return openStore(t, path, sqlite.WithRevisionMaxAge(time.Nanosecond)) }, seed)
		})
	}
}
