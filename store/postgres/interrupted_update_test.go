package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// updateInterrupted runs op for the user "ann" of namespace "ns" through
// Update, or UpdateBatch when batch is set, and calls interrupt the first
// time op runs: between the transaction's two round trips, where another
// writer's change lands. It returns the call's error and how many times
// op ran.
func updateInterrupted(t *testing.T, s *postgres.Store, batch bool, now time.Time, dedup store.Dedup,
	interrupt func(), op func(u *store.UserState, dup bool)) (int, error) {
	t.Helper()
	calls := 0
	fn := func(u *store.UserState, dup bool) {
		calls++
		if calls == 1 {
			interrupt()
		}
		op(u, dup)
	}
	ctx := context.Background()
	if !batch {
		return calls, s.Update(ctx, "ns", "ann", now, dedup, fn)
	}
	ops := []store.Op{{UserID: "ann", Now: now, Dedup: dedup, Fn: fn}}
	err := s.UpdateBatch(ctx, "ns", ops)
	require.Equal(t, err, ops[0].Err, "the batch's error is its one op's")
	return calls, err
}

// pendingIDs returns the IDs of the deliveries "ann" of namespace "ns"
// waits for.
func pendingIDs(t *testing.T, s *postgres.Store) []string {
	t.Helper()
	u, err := s.User(context.Background(), "ns", "ann")
	require.NoError(t, err)
	var ids []string
	for _, p := range u.Pending {
		ids = append(ids, p.ID)
	}
	return ids
}
