package postgres_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/internal/controlstress"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// TestTwoEnginesKeepTheDeliveryControls runs the delivery-control attack
// of package controlstress on two engines, each on a store of its own on
// one schema.
func TestTwoEnginesKeepTheDeliveryControls(t *testing.T) {
	for seed := range uint64(4) {
		t.Run("", func(t *testing.T) {
			schema := testSchema(t)
			controlstress.Run(t, func(t *testing.T) store.Store { return openStore(t, postgres.WithSchema(schema)) }, seed)
		})
	}
}
