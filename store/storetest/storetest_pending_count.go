package storetest

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// testPendingCount checks, for stores that implement store.PendingCounter,
// that PendingCount follows the queue through schedules (one by one and in
// batches), claims, re-timings, sends, cancellations and prunes: after
// each, it equals the number of deliveries the scenario left, and the
// Pending of Stats. Other namespaces count none, and a cancelled context
// is an error.
func testPendingCount(t *testing.T, s store.Store, ns string) {
	pc, ok := s.(store.PendingCounter)
	if !ok {
		t.Skip("the store does not implement store.PendingCounter")
	}
	ctx := context.Background()
	check := func(want int64, step string) {
		t.Helper()
		n, err := pc.PendingCount(ctx, ns)
		require.NoError(t, err)
		require.Equal(t, want, n, "PendingCount after %s", step)
		st, err := s.Stats(ctx, ns)
		require.NoError(t, err)
		require.Equal(t, st.Pending, n, "PendingCount and Stats.Pending after %s", step)
	}
	check(0, "nothing")

	// Schedules: 5 users with one delivery each, one user with more than
	// a store may keep inline (20), one with state but none.
	for i := range 5 {
		user := fmt.Sprint("u", i)
		update(t, s, ns, user, T0, func(u *store.UserState) {
			u.Pending = append(u.Pending, pending(user, "f", "d-"+user, T0.Add(time.Duration(i)*time.Minute)))
		})
	}
	update(t, s, ns, "many", T0, func(u *store.UserState) {
		for i := range 20 {
			u.Pending = append(u.Pending, pending("many", fmt.Sprint("g", i%3), fmt.Sprint("m", i), T0.Add(time.Duration(i)*time.Second)))
		}
	})
	update(t, s, ns, "idle", T0, func(u *store.UserState) { u.SetReceipt(store.Receipt{CampaignID: "f", At: T0}) })
	check(25, "schedules")

	if bu, ok := s.(store.BatchUpdater); ok {
		var ops []store.Op
		for i := range 10 {
			user := fmt.Sprint("b", i%4) // users come back in the batch
			ops = append(ops, store.Op{UserID: user, Now: T0, Fn: func(u *store.UserState, _ bool) {
				u.Pending = append(u.Pending, pending(user, "f", fmt.Sprint("b-", i), T0.Add(time.Hour)))
			}})
		}
		require.NoError(t, bu.UpdateBatch(ctx, ns, ops))
		check(35, "a batch of schedules")
		ops = ops[:0]
		for i := range 4 {
			ops = append(ops, store.Op{UserID: fmt.Sprint("b", i), Now: T0, Fn: func(u *store.UserState, _ bool) { u.Pending = nil }})
		}
		require.NoError(t, bu.UpdateBatch(ctx, ns, ops))
		check(25, "a batch of removals")
	}

	// Claims lease deliveries without removing them.
	now := T0.Add(10 * time.Minute)
	claims, err := s.Claim(ctx, ns, now, time.Minute, 8, 1)
	require.NoError(t, err)
	require.Len(t, claims, 8)
	check(25, "claims")

	// A re-timing moves a delivery in the queue: still one.
	update(t, s, ns, "u4", now, func(u *store.UserState) { u.Pending[0].ReadyAt = now.Add(time.Hour) })
	check(25, "a re-timing")

	// Sends remove the claimed deliveries.
	for _, c := range claims {
		update(t, s, ns, c.UserID, now, func(u *store.UserState) {
			i := u.Find(c.Pending.ID)
			require.GreaterOrEqual(t, i, 0, "claimed delivery %s", c.Pending.ID)
			u.RemovePending(i)
			u.Sends = append(u.Sends, store.Send{CampaignID: c.Pending.CampaignID, At: now})
		})
	}
	check(17, "sends")

	// A cancellation removes every delivery of its follow-up, claimed or
	// not.
	_, err = s.Claim(ctx, ns, now, time.Minute, 100, 2)
	require.NoError(t, err)
	removed, err := s.CancelCampaign(ctx, ns, "g1")
	require.NoError(t, err)
	want := int64(17 - len(removed))
	require.Less(t, want, int64(17), "g1 had deliveries left")
	check(want, "a cancellation")

	// A prune removes expired state, never a pending delivery.
	_, err = s.Prune(ctx, ns, T0.Add(1000*time.Hour), T0.Add(1000*time.Hour))
	require.NoError(t, err)
	check(want, "a prune")

	// Completing the rest empties the queue.
	for _, user := range []string{"u0", "u1", "u2", "u3", "u4", "many"} {
		update(t, s, ns, user, now, func(u *store.UserState) { u.Pending = nil })
	}
	check(0, "every delivery done")

	n, err := pc.PendingCount(ctx, ns+"-other")
	require.NoError(t, err)
	require.Zero(t, n, "another namespace")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = pc.PendingCount(cancelled, ns)
	require.ErrorIs(t, err, context.Canceled)
}

// testCampaignPendingCount checks, for stores that implement
// store.CampaignPendingCounter, that CampaignPendingCount counts the
// follow-up's pending deliveries alone (claimed or not, control-group
// holds too; not those of a follow-up whose ID begins with its own or
// differs in case, nor another namespace's), stops at its limit (the
// largest too), follows sends and cancellations, answers 0 for a very
// long ID, and refuses a limit below 1 and an empty or invalid ID with
// ErrInvalidQuery.
func testCampaignPendingCount(t *testing.T, s store.Store, ns string) {
	pc, ok := s.(store.CampaignPendingCounter)
	if !ok {
		t.Skip("the store does not implement store.CampaignPendingCounter")
	}
	ctx := context.Background()
	count := func(id string, limit int64) int64 {
		t.Helper()
		n, err := pc.CampaignPendingCount(ctx, ns, id, limit)
		require.NoError(t, err)
		return n
	}
	require.Zero(t, count("f", 10), "nothing pending")

	// "f": 7 deliveries of 4 users, one user with 4; "f2": 3; "g": 1.
	for i := range 7 {
		user := fmt.Sprint("u", i%4)
		update(t, s, ns, user, T0, func(u *store.UserState) {
			u.Pending = append(u.Pending, pending(user, "f", fmt.Sprint("f-", i), T0.Add(time.Duration(i)*time.Minute)))
		})
	}
	for i := range 3 {
		update(t, s, ns, "v", T0, func(u *store.UserState) {
			u.Pending = append(u.Pending, pending("v", "f2", fmt.Sprint("f2-", i), T0))
		})
	}
	update(t, s, ns, "w", T0, func(u *store.UserState) {
		p := pending("w", "g", "g-0", T0)
		p.Control = true // a control-group hold-out is pending as any other
		u.Pending = append(u.Pending, p)
	})
	// Another namespace's deliveries of the same follow-ups.
	other := ns + "-other"
	for i := range 2 {
		update(t, s, other, "u0", T0, func(u *store.UserState) {
			u.Pending = append(u.Pending, pending("u0", "f", fmt.Sprint("o-", i), T0))
		})
	}
	claims, err := s.Claim(ctx, ns, T0.Add(time.Hour), time.Minute, 3, 1)
	require.NoError(t, err)
	require.Len(t, claims, 3)

	for limit := int64(1); limit <= 9; limit++ {
		require.Equal(t, min(limit, 7), count("f", limit), "f up to %d", limit)
		require.Equal(t, min(limit, 3), count("f2", limit), "f2 up to %d", limit)
		require.Equal(t, min(limit, 1), count("g", limit), "g up to %d", limit)
	}
	require.Equal(t, int64(7), count("f", math.MaxInt64), "f up to the largest limit")
	require.Zero(t, count("h", 10), "a follow-up with none")
	require.Zero(t, count("F", 10), "f in capitals")
	require.Zero(t, count(strings.Repeat("f", 100_000), 10), "a very long ID")
	n, err := pc.CampaignPendingCount(ctx, other, "f", 10)
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "another namespace")
	n, err = pc.CampaignPendingCount(ctx, other, "g", 10)
	require.NoError(t, err)
	require.Zero(t, n, "another namespace")

	// A send removes one, a cancellation all of its follow-up's.
	update(t, s, ns, "u0", T0, func(u *store.UserState) { u.RemovePending(u.Find("f-0")) })
	require.Equal(t, int64(6), count("f", 10), "after a send")
	_, err = s.CancelCampaign(ctx, ns, "f")
	require.NoError(t, err)
	require.Zero(t, count("f", 10), "after a cancellation")
	require.Equal(t, int64(3), count("f2", 10), "f2 after f's cancellation")
	n, err = pc.CampaignPendingCount(ctx, other, "f", 10)
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "another namespace's after f's cancellation")

	for _, bad := range []struct {
		id    string
		limit int64
	}{{"f2", 0}, {"f2", -1}, {"", 10}, {"f\x00", 10}, {"\xff", 10}} {
		_, err := pc.CampaignPendingCount(ctx, ns, bad.id, bad.limit)
		require.ErrorIs(t, err, store.ErrInvalidQuery, "%q up to %d", bad.id, bad.limit)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = pc.CampaignPendingCount(cancelled, ns, "f2", 10)
	require.ErrorIs(t, err, context.Canceled)
}
