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
	"errors"
	"fmt"
	"slices"
	"sync"
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

// Run runs the whole suite against the stores newStore returns.
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
		{"queue/next due and claim order", testClaim},
		{"queue/lease expiry makes a claim claimable again", testLease},
		{"queue/updates move and remove queued deliveries", testQueueFollowsUpdates},
		{"queue/concurrent claimers never share a live lease", testConcurrentClaims},
		{"queue/cancel by campaign", testCancelCampaign},
		{"queue/recycled claim batches (ClaimRecycler)", testRecycleClaims},
		{"prune/expired state goes, live state stays", testPrune},
		{"counters/take up to the limit", testTake},
		{"interactions/log, query and prune", testInteractions},
		{"stats/counts", testStats},
		{"namespaces/isolated", testNamespaces},
		{"context/cancelled context is an error", testContext},
		{"notifier/earlier delivery notifies", testNotifier},
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

func testCampaigns(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	rev0, err := s.Revision(ctx, ns)
	require.NoError(t, err)
	rev, recs, err := s.Campaigns(ctx, ns)
	require.NoError(t, err)
	require.Equal(t, rev0, rev)
	require.Empty(t, recs)

	orig := put(t, s, ns, campaign("newsletter"), rule.Draft)
	require.Greater(t, orig.Revision, rev0)
	follow := campaign("resend", rule.Trigger{Kind: event.EmailReceived, CampaignID: "newsletter",
		Where: []rule.Condition{rule.Greater("n", 2), rule.OneOf("plan", "pro", "team")}})
	follow.Exceptions = []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}}
	follow.Reeligibility = rule.ReeligibleAfter(30 * 24 * time.Hour)
	follow.Start, follow.End = T0, T0.Add(90*24*time.Hour)
	rec := put(t, s, ns, follow, rule.Draft)
	require.Greater(t, rec.Revision, orig.Revision)

	var sawExists bool
	rec, err = s.UpdateCampaign(ctx, ns, "resend", func(r *store.CampaignRecord, exists bool) error {
		sawExists = exists
		require.Equal(t, rule.Draft, r.State)
		require.Equal(t, T0, r.CreatedAt.UTC())
		r.State, r.ActivatedAt, r.Activation = rule.Active, T0.Add(time.Minute), 1
		return nil
	})
	require.NoError(t, err)
	require.True(t, sawExists)
	require.Equal(t, rule.Active, rec.State)

	rev, recs, err = s.Campaigns(ctx, ns)
	require.NoError(t, err)
	require.Equal(t, rec.Revision, rev)
	require.Len(t, recs, 2)
	slices.SortFunc(recs, func(a, b store.CampaignRecord) int { return cmpString(a.Campaign.ID, b.Campaign.ID) })
	got := recs[1]
	require.Equal(t, "resend", got.Campaign.ID)
	require.Equal(t, rule.Active, got.State)
	require.Equal(t, int64(1), got.Activation)
	require.True(t, got.ActivatedAt.Equal(T0.Add(time.Minute)))
	require.Equal(t, rec.Revision, got.Revision)
	requireSameCampaign(t, follow, got.Campaign)

	latest, err := s.Revision(ctx, ns)
	require.NoError(t, err)
	require.Equal(t, rev, latest)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// requireSameCampaign compares definitions through their JSON form, which
// is what a serializing store keeps.
func requireSameCampaign(t *testing.T, want, got rule.Campaign) {
	t.Helper()
	wj, err := jsonOf(want)
	require.NoError(t, err)
	gj, err := jsonOf(got)
	require.NoError(t, err)
	require.JSONEq(t, wj, gj)
}

func testCampaignError(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	put(t, s, ns, campaign("c"), rule.Draft)
	rev, err := s.Revision(ctx, ns)
	require.NoError(t, err)
	boom := errors.New("boom")
	_, err = s.UpdateCampaign(ctx, ns, "c", func(r *store.CampaignRecord, _ bool) error {
		r.State = rule.Archived
		r.Campaign.ID = "changed"
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = s.UpdateCampaign(ctx, ns, "missing", func(r *store.CampaignRecord, exists bool) error {
		require.False(t, exists)
		return boom
	})
	require.ErrorIs(t, err, boom)
	rev2, recs, err := s.Campaigns(ctx, ns)
	require.NoError(t, err)
	require.Equal(t, rev, rev2, "a failed update does not bump the revision")
	require.Len(t, recs, 1)
	require.Equal(t, rule.Draft, recs[0].State)
	require.Equal(t, "c", recs[0].Campaign.ID)
}

func testCampaignCopies(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	c := campaign("f", rule.Trigger{Kind: event.Purchase, Name: "sku"})
	rec := put(t, s, ns, c, rule.Draft)
	rec.Campaign.Triggers[0].Name = "mutated"
	rec.Campaign.Message[0] = 'X'
	_, recs, err := s.Campaigns(ctx, ns)
	require.NoError(t, err)
	require.Equal(t, "sku", recs[0].Campaign.Triggers[0].Name)
	recs[0].Campaign.Triggers[0].Name = "mutated again"
	_, recs, err = s.Campaigns(ctx, ns)
	require.NoError(t, err)
	require.Equal(t, "sku", recs[0].Campaign.Triggers[0].Name)
	require.JSONEq(t, `{"n":1}`, string(recs[0].Campaign.Message))
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

func testUsers(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	_, err := s.User(ctx, ns, "nobody")
	require.ErrorIs(t, err, store.ErrNotFound)

	update(t, s, ns, "ann", T0, func(u *store.UserState) {
		require.True(t, u.IsEmpty())
		u.Pending = append(u.Pending, pending("ann", "resend", "d1", T0.Add(time.Hour)))
		u.SetReceipt(store.Receipt{CampaignID: "thanks", At: T0})
		u.Sends = append(u.Sends, store.Send{CampaignID: "thanks", Channel: event.Email, At: T0, Expires: T0.Add(48 * time.Hour)})
		u.Conversions = append(u.Conversions, store.Conversion{CampaignID: "thanks", ConversionID: "buy", Opened: T0, Deadline: T0.Add(72 * time.Hour)})
		u.Log = append(u.Log, rule.Decision{Kind: rule.Scheduled, CampaignID: "resend", UserID: "ann", DeliveryID: "d1", At: T0})
	})
	got, err := s.User(ctx, ns, "ann")
	require.NoError(t, err)
	require.Len(t, got.Pending, 1)
	p := got.Pending[0]
	require.Equal(t, "d1", p.ID)
	require.Equal(t, "resend", p.CampaignID)
	require.Equal(t, "ann", p.Trigger.UserID)
	require.Equal(t, "ev-d1", p.Trigger.ID)
	require.True(t, p.DueAt.Equal(T0.Add(time.Hour)))
	require.True(t, p.Trigger.Time.Equal(T0))
	require.EqualValues(t, "pro", p.Trigger.Properties["plan"])
	r, ok := got.Receipt("thanks")
	require.True(t, ok)
	require.True(t, r.At.Equal(T0))
	require.Len(t, got.Sends, 1)
	require.Equal(t, event.Email, got.Sends[0].Channel)
	require.Len(t, got.Conversions, 1)
	require.Equal(t, "buy", got.Conversions[0].ConversionID)
	require.Len(t, got.Log, 1)
	require.Equal(t, rule.Scheduled, got.Log[0].Kind)

	// User returns a copy.
	got.Pending[0].Attempt = 99
	again, err := s.User(ctx, ns, "ann")
	require.NoError(t, err)
	require.Zero(t, again.Pending[0].Attempt)

	// The next update sees the previous one.
	update(t, s, ns, "ann", T0.Add(time.Minute), func(u *store.UserState) {
		require.Len(t, u.Pending, 1)
		u.Pending[0].Attempt = 2
		u.Pending[0].Sending = true
		u.Pending[0].CancelOnFailure = true
		u.Pending[0].Backfilled = true
		u.Pending[0].Control = true
		u.Pending[0].Token = 42
	})
	again, err = s.User(ctx, ns, "ann")
	require.NoError(t, err)
	p = again.Pending[0]
	require.Equal(t, 2, p.Attempt)
	require.True(t, p.Sending && p.CancelOnFailure && p.Backfilled && p.Control)
	require.Equal(t, uint64(42), p.Token)

	// Emptied users are gone.
	update(t, s, ns, "ann", T0.Add(2*time.Minute), func(u *store.UserState) { *u = store.UserState{} })
	_, err = s.User(ctx, ns, "ann")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testDedup(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	try := func(now time.Time, id string) bool {
		var dup bool
		err := s.Update(ctx, ns, "u", now, store.Dedup{EventID: id, KeepUntil: now.Add(time.Hour)},
			func(_ *store.UserState, d bool) { dup = d })
		require.NoError(t, err)
		return dup
	}
	require.False(t, try(T0, "e1"))
	require.True(t, try(T0.Add(time.Minute), "e1"))
	require.False(t, try(T0.Add(time.Minute), "e2"))
	require.True(t, try(T0.Add(59*time.Minute), "e1"), "still inside the window")
	require.False(t, try(T0.Add(time.Hour), "e1"), "the window ended: seen again as new")
	require.True(t, try(T0.Add(time.Hour+time.Second), "e1"), "and remembered again")
	// The same ID for another user is another event.
	var dup bool
	require.NoError(t, s.Update(ctx, ns, "v", T0, store.Dedup{EventID: "e2", KeepUntil: T0.Add(time.Hour)},
		func(_ *store.UserState, d bool) { dup = d }))
	require.False(t, dup)
	// No ID, no dedup.
	for range 2 {
		require.NoError(t, s.Update(ctx, ns, "u", T0, store.Dedup{}, func(_ *store.UserState, d bool) { require.False(t, d) }))
	}
}

func testConcurrentUpdates(t *testing.T, s store.Store, ns string) {
	const workers, perWorker = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				err := s.Update(context.Background(), ns, "hot", T0, store.Dedup{EventID: fmt.Sprintf("w%d-%d", w, i), KeepUntil: T0.Add(time.Hour)},
					func(u *store.UserState, dup bool) {
						if dup {
							return
						}
						u.Log = append(u.Log, rule.Decision{Kind: rule.Scheduled, UserID: "hot", At: T0})
					})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got, err := s.User(context.Background(), ns, "hot")
	require.NoError(t, err)
	require.Len(t, got.Log, workers*perWorker, "every read-modify-write kept")
}

func testClaim(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	_, ok, err := s.NextDue(ctx, ns)
	require.NoError(t, err)
	require.False(t, ok)
	for i, user := range []string{"a", "b", "c", "d"} {
		due := T0.Add(time.Duration(4-i) * time.Minute) // d earliest, a latest
		update(t, s, ns, user, T0, func(u *store.UserState) {
			u.Pending = append(u.Pending, pending(user, "f", "d-"+user, due))
		})
	}
	next, ok, err := s.NextDue(ctx, ns)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(T0.Add(time.Minute)), "earliest ReadyAt, got %s", next)

	claims, err := s.Claim(ctx, ns, T0, time.Minute, 10, 7)
	require.NoError(t, err)
	require.Empty(t, claims, "nothing due yet")

	now := T0.Add(3 * time.Minute)
	claims, err = s.Claim(ctx, ns, now, time.Minute, 10, 7)
	require.NoError(t, err)
	require.Len(t, claims, 3, "d, c and b are due")
	ids := []string{}
	for _, c := range claims {
		ids = append(ids, c.Pending.ID)
		require.Equal(t, c.Pending.Trigger.UserID, c.UserID)
		require.Equal(t, uint64(7), c.Pending.Token)
		require.True(t, c.Pending.ReadyAt.Equal(now.Add(time.Minute)), "leased until now+lease")
		require.True(t, c.Pending.DueAt.Before(now.Add(time.Nanosecond)))
	}
	slices.Sort(ids)
	require.Equal(t, []string{"d-b", "d-c", "d-d"}, ids)

	again, err := s.Claim(ctx, ns, now, time.Minute, 10, 8)
	require.NoError(t, err)
	require.Empty(t, again, "leased deliveries are not handed out twice")

	got, err := s.User(ctx, ns, "b")
	require.NoError(t, err)
	require.Equal(t, uint64(7), got.Pending[0].Token, "the claim is stored")

	// Limit.
	update(t, s, ns, "e", T0, func(u *store.UserState) {
		for i := range 5 {
			u.Pending = append(u.Pending, pending("e", fmt.Sprintf("f%d", i), fmt.Sprintf("e%d", i), T0))
		}
	})
	limited, err := s.Claim(ctx, ns, now, time.Minute, 2, 9)
	require.NoError(t, err)
	require.Len(t, limited, 2)
	require.Equal(t, "e", limited[0].UserID)

	next, ok, err = s.NextDue(ctx, ns)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(T0), "the three unclaimed ones of e are due at T0")
}

// testRecycleClaims checks, for stores that implement store.ClaimRecycler,
// that a batch handed back does not leak into the next: each claim carries
// its own delivery, whatever the recycled slice held.
func testRecycleClaims(t *testing.T, s store.Store, ns string) {
	r, ok := s.(store.ClaimRecycler)
	if !ok {
		t.Skip("the store does not implement store.ClaimRecycler")
	}
	ctx := context.Background()
	for i := range 6 {
		user := fmt.Sprint("u", i)
		update(t, s, ns, user, T0, func(u *store.UserState) {
			p := pending(user, "f", "d-"+user, T0.Add(time.Duration(i)*time.Minute))
			p.Trigger.Properties = map[string]any{"n": i}
			u.Pending = append(u.Pending, p)
		})
	}
	now := T0.Add(time.Hour)
	first, err := s.Claim(ctx, ns, now, time.Minute, 4, 1)
	require.NoError(t, err)
	require.Len(t, first, 4)
	r.RecycleClaims(first)
	r.RecycleClaims(nil) // nothing to take back: no panic
	rest, err := s.Claim(ctx, ns, now, time.Minute, 4, 2)
	require.NoError(t, err)
	require.Len(t, rest, 2, "the two not claimed before")
	for _, c := range rest {
		require.Equal(t, "d-"+c.UserID, c.Pending.ID)
		require.Equal(t, c.UserID, c.Pending.Trigger.UserID)
		require.Equal(t, uint64(2), c.Pending.Token)
		require.Equal(t, c.UserID[1:], fmt.Sprint(c.Pending.Trigger.Properties["n"]), "the claim's own trigger, nothing left from the recycled batch")
	}
	again, err := s.Claim(ctx, ns, now.Add(2*time.Minute), time.Minute, 10, 3)
	require.NoError(t, err)
	require.Len(t, again, 6, "every lease ran out")
	seen := map[string]bool{}
	for _, c := range again {
		require.False(t, seen[c.Pending.ID], "%s twice in one batch", c.Pending.ID)
		seen[c.Pending.ID] = true
		require.Equal(t, "d-"+c.UserID, c.Pending.ID)
	}
}

func testLease(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	update(t, s, ns, "u", T0, func(u *store.UserState) { u.Pending = append(u.Pending, pending("u", "f", "d1", T0)) })
	first, err := s.Claim(ctx, ns, T0, 30*time.Second, 10, 1)
	require.NoError(t, err)
	require.Len(t, first, 1)
	none, err := s.Claim(ctx, ns, T0.Add(29*time.Second), 30*time.Second, 10, 2)
	require.NoError(t, err)
	require.Empty(t, none)
	next, ok, err := s.NextDue(ctx, ns)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(T0.Add(30*time.Second)), "a leased delivery is next due when its lease ends")
	second, err := s.Claim(ctx, ns, T0.Add(30*time.Second), 30*time.Second, 10, 2)
	require.NoError(t, err)
	require.Len(t, second, 1, "claimable again once the lease ended")
	require.Equal(t, first[0].Pending.ID, second[0].Pending.ID, "with the same ID")
	require.Equal(t, uint64(2), second[0].Pending.Token)
}

func testQueueFollowsUpdates(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	update(t, s, ns, "u", T0, func(u *store.UserState) {
		u.Pending = append(u.Pending, pending("u", "f", "early", T0), pending("u", "g", "late", T0.Add(time.Hour)))
	})
	// Remove the early one: the late one is next.
	update(t, s, ns, "u", T0, func(u *store.UserState) { u.RemovePending(u.Find("early")) })
	next, ok, err := s.NextDue(ctx, ns)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(T0.Add(time.Hour)))
	// Defer it: the queue moves it.
	update(t, s, ns, "u", T0, func(u *store.UserState) { u.Pending[0].ReadyAt = T0.Add(2 * time.Hour) })
	claims, err := s.Claim(ctx, ns, T0.Add(90*time.Minute), time.Minute, 10, 1)
	require.NoError(t, err)
	require.Empty(t, claims)
	claims, err = s.Claim(ctx, ns, T0.Add(2*time.Hour), time.Minute, 10, 1)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	// Completing it (removal) empties the queue.
	update(t, s, ns, "u", T0.Add(2*time.Hour), func(u *store.UserState) { u.RemovePending(u.Find("late")) })
	_, ok, err = s.NextDue(ctx, ns)
	require.NoError(t, err)
	require.False(t, ok)
}

func testConcurrentClaims(t *testing.T, s store.Store, ns string) {
	const deliveries = 200
	for i := range deliveries {
		user := fmt.Sprintf("u%d", i%37)
		update(t, s, ns, user, T0, func(u *store.UserState) {
			u.Pending = append(u.Pending, pending(user, "f", fmt.Sprintf("d%d", i), T0.Add(time.Duration(i)*time.Millisecond)))
		})
	}
	var (
		mu    sync.Mutex
		seen  = map[string]int{}
		wg    sync.WaitGroup
		token atomic.Uint64
	)
	now := T0.Add(time.Second)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				claims, err := s.Claim(context.Background(), ns, now, time.Hour, 7, token.Add(1))
				if err != nil {
					t.Error(err)
					return
				}
				if len(claims) == 0 {
					return
				}
				mu.Lock()
				for _, c := range claims {
					seen[c.Pending.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, deliveries, "every delivery claimed")
	for id, n := range seen {
		require.Equal(t, 1, n, "delivery %s claimed %d times under a live lease", id, n)
	}
}

func testCancelCampaign(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	for _, user := range []string{"a", "b"} {
		update(t, s, ns, user, T0, func(u *store.UserState) {
			u.Pending = append(u.Pending, pending(user, "stopme", "s-"+user, T0), pending(user, "keep", "k-"+user, T0.Add(time.Hour)))
		})
	}
	// One of them is claimed: cancelled all the same.
	claims, err := s.Claim(ctx, ns, T0, time.Minute, 1, 5)
	require.NoError(t, err)
	require.Len(t, claims, 1)

	removed, err := s.CancelCampaign(ctx, ns, "stopme")
	require.NoError(t, err)
	require.Len(t, removed, 2)
	for _, c := range removed {
		require.Equal(t, "stopme", c.Pending.CampaignID)
		require.Equal(t, "s-"+c.UserID, c.Pending.ID)
	}
	for _, user := range []string{"a", "b"} {
		got, err := s.User(ctx, ns, user)
		require.NoError(t, err)
		require.Len(t, got.Pending, 1)
		require.Equal(t, "keep", got.Pending[0].CampaignID)
	}
	next, ok, err := s.NextDue(ctx, ns)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(T0.Add(time.Hour)), "cancelled deliveries left the queue")
	none, err := s.CancelCampaign(ctx, ns, "stopme")
	require.NoError(t, err)
	require.Empty(t, none)

	// A user waiting for two follow-ups loses the first scheduled: the
	// other stays queued, and leaves the queue when completed.
	update(t, s, ns, "c", T0, func(u *store.UserState) {
		u.Pending = append(u.Pending, pending("c", "first", "c1", T0.Add(2*time.Hour)), pending("c", "second", "c2", T0.Add(3*time.Hour)))
	})
	removed, err = s.CancelCampaign(ctx, ns, "first")
	require.NoError(t, err)
	require.Len(t, removed, 1)
	update(t, s, ns, "c", T0, func(u *store.UserState) {
		require.Len(t, u.Pending, 1)
		require.Equal(t, "c2", u.Pending[0].ID)
		u.RemovePending(0)
	})
	update(t, s, ns, "a", T0, func(u *store.UserState) { u.Pending = nil })
	update(t, s, ns, "b", T0, func(u *store.UserState) { u.Pending = nil })
	_, ok, err = s.NextDue(ctx, ns)
	require.NoError(t, err)
	require.False(t, ok, "nothing left in the queue")
}

func testPrune(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	require.NoError(t, s.Update(ctx, ns, "gone", T0, store.Dedup{EventID: "e", KeepUntil: T0.Add(time.Hour)}, func(u *store.UserState, _ bool) {
		u.SetReceipt(store.Receipt{CampaignID: "f", At: T0, Expires: T0.Add(time.Hour)})
		u.Sends = append(u.Sends, store.Send{CampaignID: "f", At: T0, Expires: T0.Add(time.Hour)})
		u.Conversions = append(u.Conversions, store.Conversion{CampaignID: "f", ConversionID: "c", Opened: T0, Deadline: T0.Add(time.Hour)})
		u.Log = append(u.Log, rule.Decision{Kind: rule.Delivered, At: T0})
	}))
	update(t, s, ns, "kept", T0, func(u *store.UserState) {
		u.SetReceipt(store.Receipt{CampaignID: "once", At: T0}) // never expires
		u.SetReceipt(store.Receipt{CampaignID: "window", At: T0, Expires: T0.Add(time.Hour)})
		u.Log = append(u.Log, rule.Decision{Kind: rule.Delivered, At: T0}, rule.Decision{Kind: rule.Delivered, At: T0.Add(2 * time.Hour)})
		u.Pending = append(u.Pending, pending("kept", "f", "p", T0.Add(48*time.Hour)))
	})
	_, err := s.Take(ctx, ns, "rate", 10, T0, T0.Add(time.Hour))
	require.NoError(t, err)

	n, err := s.Prune(ctx, ns, T0.Add(59*time.Minute), T0)
	require.NoError(t, err)
	require.Zero(t, n, "nothing expired yet")

	n, err = s.Prune(ctx, ns, T0.Add(time.Hour), T0.Add(time.Hour))
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 8, "seen ID, receipts, send, conversion, log entries, counter")
	_, err = s.User(ctx, ns, "gone")
	require.ErrorIs(t, err, store.ErrNotFound)
	kept, err := s.User(ctx, ns, "kept")
	require.NoError(t, err)
	require.Len(t, kept.Receipts, 1)
	require.Equal(t, "once", kept.Receipts[0].CampaignID)
	require.Len(t, kept.Log, 1)
	require.Len(t, kept.Pending, 1)
	// The pruned event ID is new again; the pruned counter starts over.
	require.NoError(t, s.Update(ctx, ns, "gone", T0.Add(time.Hour), store.Dedup{EventID: "e", KeepUntil: T0.Add(2 * time.Hour)},
		func(_ *store.UserState, dup bool) { require.False(t, dup) }))
	for range 10 {
		ok, err := s.Take(ctx, ns, "rate", 10, T0.Add(time.Hour), T0.Add(2*time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
	}
}

func testTake(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	for i := range 3 {
		ok, err := s.Take(ctx, ns, "k", 3, T0, T0.Add(time.Minute))
		require.NoError(t, err)
		require.True(t, ok, "take %d", i+1)
	}
	ok, err := s.Take(ctx, ns, "k", 3, T0, T0.Add(time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "limit reached")
	ok, err = s.Take(ctx, ns, "other", 3, T0, T0.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "counters are independent")

	var wg sync.WaitGroup
	var granted atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				ok, err := s.Take(context.Background(), ns, "race", 25, T0, T0.Add(time.Minute))
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					granted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int64(25), granted.Load(), "never more than the limit under concurrency")

	// Once expired, a counter starts over, pruned or not.
	ok, err = s.Take(ctx, ns, "k", 3, T0.Add(time.Minute), T0.Add(2*time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "expired at now: counts from zero")
	for range 2 {
		ok, err = s.Take(ctx, ns, "k", 3, T0.Add(time.Minute), T0.Add(2*time.Minute))
		require.NoError(t, err)
		require.True(t, ok)
	}
	ok, err = s.Take(ctx, ns, "k", 3, T0.Add(time.Minute), T0.Add(2*time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "the new window's limit")
}

func testInteractions(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	evs := []event.Event{
		{ID: "3", UserID: "a", Kind: event.EmailOpened, CampaignID: "n", Time: T0.Add(3 * time.Minute)},
		{ID: "1", UserID: "b", Kind: event.EmailReceived, CampaignID: "n", Time: T0.Add(time.Minute)},
		{ID: "2", UserID: "a", Kind: event.Purchase, Name: "sku", Time: T0.Add(2 * time.Minute), Properties: map[string]any{"price": 10.5}},
		{ID: "0", UserID: "c", Kind: event.EmailReceived, CampaignID: "other", Time: T0},
	}
	require.NoError(t, s.AppendInteractions(ctx, ns, evs[:2], T0.Add(time.Hour)))
	require.NoError(t, s.AppendInteractions(ctx, ns, evs[2:], T0.Add(2*time.Hour)))

	collect := func(q store.InteractionQuery) []string {
		var ids []string
		require.NoError(t, s.Interactions(ctx, ns, q, func(ev event.Event) bool {
			ids = append(ids, ev.ID)
			return true
		}))
		return ids
	}
	require.Equal(t, []string{"0", "1", "2", "3"}, collect(store.InteractionQuery{}), "time order")
	require.Equal(t, []string{"1", "2"}, collect(store.InteractionQuery{Since: T0.Add(time.Minute), Until: T0.Add(3 * time.Minute)}))
	require.Equal(t, []string{"1", "2", "3"}, collect(store.InteractionQuery{Keys: []store.InteractionKey{
		{Kind: event.EmailReceived, CampaignID: "n"}, {Kind: event.EmailOpened, CampaignID: "n"}, {Kind: event.Purchase},
	}}))
	var first []event.Event
	require.NoError(t, s.Interactions(ctx, ns, store.InteractionQuery{Keys: []store.InteractionKey{{Kind: event.Purchase}}},
		func(ev event.Event) bool { first = append(first, ev); return false }))
	require.Len(t, first, 1)
	require.Equal(t, "sku", first[0].Name)
	require.True(t, first[0].Time.Equal(T0.Add(2*time.Minute)))
	require.EqualValues(t, "10.5", fmt.Sprint(first[0].Properties["price"]))

	_, err := s.Prune(ctx, ns, T0.Add(time.Hour), T0)
	require.NoError(t, err)
	require.Equal(t, []string{"0", "2"}, collect(store.InteractionQuery{}), "the first two expired")
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

func testNotifier(t *testing.T, s store.Store, ns string) {
	n, ok := s.(store.Notifier)
	if !ok {
		t.Skipf("%T does not implement store.Notifier (optional)", s)
	}
	ch, stop := n.Notify(ns)
	defer stop()
	update(t, s, ns, "u", T0, func(u *store.UserState) { u.Pending = append(u.Pending, pending("u", "f", "d", T0)) })
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification for a new earliest delivery")
	}
}
