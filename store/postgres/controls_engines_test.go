package postgres_test

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/controlstress"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// TestTwoEnginesKeepTheDeliveryControls runs the delivery-control attack
// of package controlstress on two engines, each on a store of its own on
// one schema. The attack requires that nothing of a stopped follow-up
// goes out once Stop has returned, from either engine, while a store may
// see another's campaign changes up to its revision max age later: the
// stores here read the revision on every call.
func TestTwoEnginesKeepTheDeliveryControls(t *testing.T) {
	for seed := range uint64(4) {
		t.Run("", func(t *testing.T) {
			schema := testSchema(t)
			controlstress.Run(t, func(t *testing.T) store.Store {
				return openStore(t, postgres.WithSchema(schema), postgres.WithRevisionMaxAge(time.Nanosecond))
			}, seed)
		})
	}
}
