package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/campaignconnector/campaignconnector/internal/controlstress"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestTwoEnginesKeepTheDeliveryControls runs the delivery-control attack
// of package controlstress on two engines, each on a handle of its own on
// one database file.
func TestTwoEnginesKeepTheDeliveryControls(t *testing.T) {
	for seed := range uint64(4) {
		t.Run("", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cc.db")
			controlstress.Run(t, func(t *testing.T) store.Store { return openStore(t, path) }, seed)
		})
	}
}
