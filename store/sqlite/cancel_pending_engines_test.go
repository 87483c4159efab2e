package sqlite_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/internal/lifecyclestress"
)

// TestCancelPendingAcrossEngines: see lifecyclestress.CancelPending.
func TestCancelPendingAcrossEngines(t *testing.T) {
	path := testPath(t)
	lifecyclestress.CancelPending(t, openStore(t, path), openStore(t, path))
}
