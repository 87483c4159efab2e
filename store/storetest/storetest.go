// Package storetest is the conformance suite every [store.Store]
// implementation runs, like river's riverdrivertest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory() })
//	}
//
// newStore is called once per subtest and may return a store shared with
// other subtests (a database): every subtest works in namespaces of its own.
package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// T0 is the time the suite's scenarios start at.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var nsCounter atomic.Int64

// namespace returns a namespace no other subtest of this process uses.
func namespace(t *testing.T) string {
	return fmt.Sprintf("storetest-%d-%d", time.Now().UnixNano(), nsCounter.Add(1))
}

// Run runs the whole suite against the stores newStore returns. The
// tests of an optional interface ([store.BatchUpdater],
// [store.ClaimRecycler], [store.Notifier], [store.Tallier],
// [store.OnceTallier], [store.PendingLister], [store.PendingCounter],
// [store.CampaignPendingCounter], [store.BatchCanceller]) run when the store implements it, and
// are skipped, saying so, when it does not.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, ns string)
	}{
		{"campaigns/create, update and revision", testCampaigns},
		{"campaigns/an error leaves the record unchanged", testCampaignError},
		{"campaigns/records are copies", testCampaignCopies},
		{"users/update and read", testUsers},
		{"users/dedup window", testDedup},
		{"users/concurrent updates lose nothing", testConcurrentUpdates},
		{"users/batched updates (BatchUpdater)", testBatch},
		{"queue/next due and claim order", testClaim},
		{"queue/lease expiry makes a claim claimable again", testLease},
		{"queue/updates move and remove queued deliveries", testQueueFollowsUpdates},
		{"queue/concurrent claimers never share a live lease", testConcurrentClaims},
		{"queue/cancel by campaign", testCancelCampaign},
		{"queue/cancel by campaign keeps a later activation's", testCancelActivations},
		{"queue/recycled claim batches (ClaimRecycler)", testRecycleClaims},
		{"prune/expired state goes, live state stays", testPrune},
		{"counters/take up to the limit", testTake},
		{"interactions/log, query and prune", testInteractions},
		{"stats/counts", testStats},
		{"namespaces/isolated", testNamespaces},
		{"context/cancelled context is an error", testContext},
		{"notifier/earlier delivery notifies", testNotifier},
		{"tallies/counts add up per key (Tallier)", testTallies},
		{"tallies/selected by hour and campaign (Tallier)", testTallyQuery},
		{"tallies/campaigns with odd IDs, and IDs no tally has (Tallier)", testTallyQueryOddCampaigns},
		{"tallies/selected by kind, with hours and campaigns (Tallier)", testTallyQueryKinds},
		{"tallies/a bad tally adds nothing (Tallier)", testTallyValidation},
		{"tallies/concurrent adds lose nothing (Tallier)", testConcurrentTallies},
		{"tallies/prune removes older hours (Tallier)", testPruneTallies},
		{"tallies/a batch is added at most once (OnceTallier)", testTalliesOnce},
		{"tallies/a batch sent at once by several calls is added once (OnceTallier)", testConcurrentTalliesOnce},
		{"pending/listed in due order, page by page (PendingLister)", testListPending},
		{"pending/listed in due order when one user holds many (PendingLister)", testListPendingMany},
		{"pending/counted as Stats counts them (PendingCounter)", testPendingCount},
		{"pending/counted per follow-up up to a limit (CampaignPendingCounter)", testCampaignPendingCount},
		{"queue/cancel by campaign a batch at a time (BatchCanceller)", testCancelBatch},
		{"queue/a cancellation cursor changed or passed for another is refused (BatchCanceller)", testCancelBatchCursor},
		{"pending/trigger event IDs come back as stored", testTriggerIDs},
		{"pending/attempt counts of any size come back as stored", testAttempts},
		{"pending/times far from now come back as stored", testFarTimes},
		{"pending/trigger properties read are copies", testPropertyCopies},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.fn(t, s, namespace(t))
		})
	}
}

func campaign(id string, triggers ...rule.Trigger) rule.Campaign {
	return rule.Campaign{ID: id, Triggers: triggers, Delay: rule.After(time.Hour), Message: []byte(`{"n":1}`)}
}

func put(t *testing.T, s store.Store, ns string, c rule.Campaign, state rule.State) store.CampaignRecord {
	t.Helper()
	rec, err := s.UpdateCampaign(context.Background(), ns, c.ID, func(rec *store.CampaignRecord, exists bool) error {
		rec.Campaign, rec.State = c, state
		if !exists {
			rec.CreatedAt = T0
		}
		rec.UpdatedAt = T0
		return nil
	})
	require.NoError(t, err)
	return rec
}

func pending(user, campaignID, id string, due time.Time) *store.Pending {
	return &store.Pending{
		ID: id, CampaignID: campaignID, Activation: 1,
		Trigger: event.Event{ID: "ev-" + id, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter",
			Time: due.Add(-time.Hour), Properties: map[string]any{"plan": "pro"}},
		DueAt: due, ReadyAt: due,
	}
}

func update(t *testing.T, s store.Store, ns, user string, now time.Time, fn func(u *store.UserState)) {
	t.Helper()
	err := s.Update(context.Background(), ns, user, now, store.Dedup{}, func(u *store.UserState, dup bool) {
		require.False(t, dup)
		fn(u)
	})
	require.NoError(t, err)
}

func testStats(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	put(t, s, ns, campaign("a"), rule.Draft)
	put(t, s, ns, campaign("b"), rule.Active)
	update(t, s, ns, "u1", T0, func(u *store.UserState) {
		u.Pending = append(u.Pending, pending("u1", "b", "1", T0), pending("u1", "a", "2", T0))
	})
	update(t, s, ns, "u2", T0, func(u *store.UserState) { u.SetReceipt(store.Receipt{CampaignID: "b", At: T0}) })
	require.NoError(t, s.AppendInteractions(ctx, ns, []event.Event{{UserID: "u", Kind: event.SessionStart, Time: T0}}, T0.Add(time.Hour)))
	st, err := s.Stats(ctx, ns)
	require.NoError(t, err)
	require.Equal(t, store.Stats{Campaigns: 2, Users: 2, Pending: 2, Interactions: 1}, st)
}

func testNamespaces(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	other := ns + "-other"
	put(t, s, ns, campaign("c"), rule.Active)
	update(t, s, ns, "u", T0, func(u *store.UserState) { u.Pending = append(u.Pending, pending("u", "c", "d", T0)) })
	require.NoError(t, s.Update(ctx, ns, "u", T0, store.Dedup{EventID: "e", KeepUntil: T0.Add(time.Hour)}, func(*store.UserState, bool) {}))

	_, recs, err := s.Campaigns(ctx, other)
	require.NoError(t, err)
	require.Empty(t, recs)
	_, err = s.User(ctx, other, "u")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, ok, err := s.NextDue(ctx, other)
	require.NoError(t, err)
	require.False(t, ok)
	claims, err := s.Claim(ctx, other, T0.Add(time.Hour), time.Minute, 10, 1)
	require.NoError(t, err)
	require.Empty(t, claims)
	removed, err := s.CancelCampaign(ctx, other, "c")
	require.NoError(t, err)
	require.Empty(t, removed)
	require.NoError(t, s.Update(ctx, other, "u", T0, store.Dedup{EventID: "e", KeepUntil: T0.Add(time.Hour)},
		func(_ *store.UserState, dup bool) { require.False(t, dup, "event IDs are per namespace") }))
	_, err = s.Prune(ctx, other, T0.Add(1000*time.Hour), T0.Add(1000*time.Hour))
	require.NoError(t, err)
	got, err := s.User(ctx, ns, "u")
	require.NoError(t, err)
	require.Len(t, got.Pending, 1, "pruning another namespace touches nothing here")
}

func testContext(t *testing.T, s store.Store, ns string) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := s.Campaigns(ctx, ns)
	require.ErrorIs(t, err, context.Canceled)
	err = s.Update(ctx, ns, "u", T0, store.Dedup{}, func(*store.UserState, bool) { t.Error("fn called on a cancelled context") })
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Claim(ctx, ns, T0, time.Minute, 1, 1)
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.UpdateCampaign(ctx, ns, "c", func(*store.CampaignRecord, bool) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
}
