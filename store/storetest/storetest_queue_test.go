package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/store"
)

// unleasing is a store whose Claim hands out the same due delivery at
// every call, never leasing it.
type unleasing struct{ *store.Memory }

func (unleasing) Claim(_ context.Context, _ string, now time.Time, _ time.Duration, _ int, token uint64) ([]store.Claim, error) {
	return []store.Claim{{UserID: "u", Pending: store.Pending{ID: "d", CampaignID: "f", DueAt: now, ReadyAt: now, Token: token}}}, nil
}

// The concurrent claimers end against a store that hands out a delivery
// under a live lease, for the suite to report it, rather than claim for
// ever.
func TestClaimConcurrentlyEndsOnAStoreThatNeverLeases(t *testing.T) {
	seen, err := claimConcurrently(unleasing{store.NewMemory()}, "ns", T0, 200)
	require.NoError(t, err)
	require.Len(t, seen, 1)
	require.Greater(t, seen["d"], 200)
	require.LessOrEqual(t, seen["d"], 204, "each claimer stops once it sees more than 200 claimed")
}
