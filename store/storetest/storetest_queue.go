package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

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
	seen, err := claimConcurrently(s, ns, T0.Add(time.Second), deliveries)
	require.NoError(t, err)
	require.Len(t, seen, deliveries, "every delivery claimed")
	for id, n := range seen {
		require.Equal(t, 1, n, "delivery %s claimed %d times under a live lease", id, n)
	}
}

// claimConcurrently claims with four claimers at once, batches of 7 under
// a token each, until a claim comes back empty, and returns how many
// times each delivery was claimed. The claimers stop once they have
// claimed more than most deliveries in all: a store that hands out
// deliveries under a live lease (one whose Claim does not save the lease)
// would have them claim for ever.
func claimConcurrently(s store.Store, ns string, now time.Time, most int) (map[string]int, error) {
	var (
		mu      sync.Mutex
		seen    = map[string]int{}
		claimed int
		first   error
		wg      sync.WaitGroup
		token   atomic.Uint64
	)
	for range 4 {
		wg.Go(func() {
			for {
				claims, err := s.Claim(context.Background(), ns, now, time.Hour, 7, token.Add(1))
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				for _, c := range claims {
					seen[c.Pending.ID]++
				}
				claimed += len(claims)
				stop := err != nil || len(claims) == 0 || claimed > most
				mu.Unlock()
				if stop {
					return
				}
			}
		})
	}
	wg.Wait()
	return seen, first
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
