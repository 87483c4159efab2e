package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/store"
)

// testBatch checks UpdateBatch against what the same updates made one by
// one with Update leave: each user's ops in slice order, event IDs
// remembered from one op to the next of the same batch, the queue in step,
// and a cancelled context applying nothing.
func testBatch(t *testing.T, s store.Store, ns string) {
	bu, ok := s.(store.BatchUpdater)
	if !ok {
		t.Skip("the store does not implement store.BatchUpdater")
	}
	ctx := context.Background()
	var ops []store.Op
	var dups []string
	for i := range 200 {
		user := fmt.Sprint("b", i%70) // users come back in the batch: their ops must apply in order
		k := i
		ops = append(ops, store.Op{
			UserID: user, Now: T0,
			Dedup: store.Dedup{EventID: fmt.Sprint("ev-", i%90), KeepUntil: T0.Add(time.Hour)},
			Fn: func(u *store.UserState, dup bool) {
				if dup {
					dups = append(dups, fmt.Sprint(user, "/", k))
					return
				}
				if k%7 == 6 && len(u.Pending) > 0 {
					u.RemovePending(0) // the oldest goes
					return
				}
				u.Pending = append(u.Pending, pending(user, "f", fmt.Sprint("d-", k), T0.Add(time.Duration(k)*time.Minute)))
			},
		})
	}
	require.NoError(t, bu.UpdateBatch(ctx, ns, ops))
	for _, op := range ops {
		require.NoError(t, op.Err)
	}
	// What the ops leave, computed one user at a time in slice order.
	want := map[string][]string{}
	wantPending := want
	seen := map[string]bool{}
	var wantDups []string
	for i := range 200 {
		user, ev := fmt.Sprint("b", i%70), fmt.Sprint(fmt.Sprint("b", i%70), "/ev-", i%90)
		switch {
		case seen[ev]:
			wantDups = append(wantDups, fmt.Sprint(user, "/", i))
		case i%7 == 6 && len(want[user]) > 0:
			want[user] = want[user][1:]
		default:
			want[user] = append(want[user], fmt.Sprint("d-", i))
		}
		seen[ev] = true
	}
	require.ElementsMatch(t, wantDups, dups, "duplicates within the batch")
	total := 0
	for i := range 70 {
		user := fmt.Sprint("b", i)
		st, err := s.User(ctx, ns, user)
		if len(want[user]) == 0 {
			require.ErrorIs(t, err, store.ErrNotFound, user)
			continue
		}
		require.NoError(t, err)
		var got []string
		for _, p := range st.Pending {
			got = append(got, p.ID)
		}
		require.Equal(t, want[user], got, user)
		total += len(got)
	}
	// The queue holds exactly what the users hold.
	claims, err := s.Claim(ctx, ns, T0.Add(1000*time.Minute), time.Minute, 1000, 1)
	require.NoError(t, err)
	require.Len(t, claims, total)

	// State besides pending deliveries, written, changed and removed in
	// batches, with deliveries re-timed: every kind of write a batch makes.
	step := func(fn func(i int, u *store.UserState)) {
		var ops []store.Op
		for i := range 70 {
			ops = append(ops, store.Op{UserID: fmt.Sprint("b", i), Now: T0, Fn: func(u *store.UserState, _ bool) { fn(i, u) }})
		}
		require.NoError(t, bu.UpdateBatch(ctx, ns, ops))
	}
	step(func(i int, u *store.UserState) {
		u.SetReceipt(store.Receipt{CampaignID: "f", At: T0.Add(time.Duration(i) * time.Second)})
		for _, p := range u.Pending {
			p.ReadyAt = p.ReadyAt.Add(time.Hour)
		}
	})
	step(func(i int, u *store.UserState) {
		if i%2 == 0 {
			u.SetReceipt(store.Receipt{CampaignID: "g", At: T0})
		}
	})
	step(func(i int, u *store.UserState) {
		if i%3 == 0 {
			u.Receipts = nil
		}
	})
	for i := range 70 {
		user := fmt.Sprint("b", i)
		st, err := s.User(ctx, ns, user)
		var receipts []string
		for _, r := range st.Receipts {
			receipts = append(receipts, r.CampaignID+"@"+r.At.Format(time.TimeOnly))
		}
		var want []string
		if i%3 != 0 {
			want = append(want, "f@"+T0.Add(time.Duration(i)*time.Second).Format(time.TimeOnly))
			if i%2 == 0 {
				want = append(want, "g@"+T0.Format(time.TimeOnly))
			}
		}
		if len(want) == 0 && len(wantPending[user]) == 0 {
			require.ErrorIs(t, err, store.ErrNotFound, user)
			continue
		}
		require.NoError(t, err, user)
		require.ElementsMatch(t, want, receipts, user)
		require.Len(t, st.Pending, len(wantPending[user]), user)
		for k, p := range st.Pending {
			require.Equal(t, wantPending[user][k], p.ID, user)
			// Claimed above until T0+1001m, then re-timed an hour later.
			require.True(t, p.ReadyAt.Equal(T0.Add(1001*time.Minute+time.Hour)), "re-timed: %s %v", user, p.ReadyAt)
		}
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	called := false
	late := []store.Op{{UserID: "late", Now: T0, Fn: func(u *store.UserState, _ bool) {
		called = true
		u.Pending = append(u.Pending, pending("late", "f", "x", T0))
	}}}
	require.ErrorIs(t, bu.UpdateBatch(cancelled, ns, late), context.Canceled)
	require.ErrorIs(t, late[0].Err, context.Canceled)
	require.False(t, called)
	_, err = s.User(ctx, ns, "late")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, bu.UpdateBatch(ctx, ns, nil), "an empty batch")
}
