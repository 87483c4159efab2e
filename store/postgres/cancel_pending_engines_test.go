package postgres_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/internal/lifecyclestress"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// TestCancelPendingAcrossEngines: see lifecyclestress.CancelPending.
func TestCancelPendingAcrossEngines(t *testing.T) {
	schema := testSchema(t)
	lifecyclestress.CancelPending(t, openStore(t, postgres.WithSchema(schema)), openStore(t, postgres.WithSchema(schema)))
}
