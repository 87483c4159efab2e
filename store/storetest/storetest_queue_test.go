package storetest

import (
	"context"
	"math/rand/v2"
	"slices"
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

// dueOrderClaims is a memory store whose Claim hands out the deliveries
// ready at now in due order, those due at the same time in a random
// order: roughly earliest first, as store.Store allows, but not the same
// deliveries from one namespace to another filled the same way.
type dueOrderClaims struct{ *store.Memory }

func (s dueOrderClaims) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	var ready []store.Claim
	for q := (store.PendingQuery{Limit: store.MaxPendingPage}); ; {
		page, err := s.ListPending(ctx, ns, q)
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			if !c.Pending.ReadyAt.After(now) {
				ready = append(ready, c)
			}
		}
		if len(page) < q.Limit {
			break
		}
		last := page[len(page)-1].Pending
		q.AfterDue, q.AfterID = last.DueAt, last.ID
	}
	rand.Shuffle(len(ready), func(i, j int) { ready[i], ready[j] = ready[j], ready[i] })
	slices.SortStableFunc(ready, func(a, b store.Claim) int { return a.Pending.DueAt.Compare(b.Pending.DueAt) })
	out := ready[:min(limit, len(ready))]
	for k := range out {
		c := &out[k]
		c.Pending.Token, c.Pending.ReadyAt = token, now.Add(lease)
		err := s.Update(ctx, ns, c.UserID, now, store.Dedup{}, func(u *store.UserState, _ bool) {
			if i := u.Find(c.Pending.ID); i >= 0 {
				u.Pending[i].Token, u.Pending[i].ReadyAt = c.Pending.Token, c.Pending.ReadyAt
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// The batch-cancel test holds a store to what Claim promises, roughly
// earliest first: one that picks among deliveries due at the same time in
// an order of its own passes it.
func TestCancelBatchTakesClaimsRoughlyEarliestFirst(t *testing.T) {
	testCancelBatch(t, dueOrderClaims{store.NewMemory()}, namespace(t))
}
