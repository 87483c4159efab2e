package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// lister returns s as a store.PendingLister, or skips the test.
func lister(t *testing.T, s store.Store) store.PendingLister {
	pl, ok := s.(store.PendingLister)
	if !ok {
		t.Skip("the store does not implement store.PendingLister")
	}
	return pl
}

// listAll pages through q's deliveries, limit at a time, and returns them
// with the pages' lengths.
func listAll(t *testing.T, pl store.PendingLister, ns string, q store.PendingQuery) ([]store.Claim, []int) {
	t.Helper()
	var out []store.Claim
	var pages []int
	for {
		page, err := pl.ListPending(context.Background(), ns, q)
		require.NoError(t, err)
		pages = append(pages, len(page))
		out = append(out, page...)
		if len(page) < q.Limit {
			return out, pages
		}
		last := page[len(page)-1].Pending
		q.AfterDue, q.AfterID = last.DueAt, last.ID
	}
}

func claimKeys(cs []store.Claim) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s %s %s/%s", c.Pending.DueAt.UTC().Format(time.RFC3339Nano), c.Pending.ID, c.UserID, c.Pending.CampaignID)
	}
	return out
}

// testListPending checks the listing of pending deliveries: every one,
// claimed or not, in (DueAt, ID) order, in pages that follow each other
// through the cursor, by campaign or all, each a copy of what the queue
// holds.
func testListPending(t *testing.T, s store.Store, ns string) {
	pl := lister(t, s)
	ctx := context.Background()
	page, err := pl.ListPending(ctx, ns, store.PendingQuery{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, page, "nothing pending")

	// 23 deliveries of two follow-ups for 7 users, due in an order unlike
	// their users' and IDs', some at the same time (ordered by ID), one of
	// them claimed.
	var want []store.Claim
	for i := range 23 {
		user := fmt.Sprint("u", i%7)
		campaign := []string{"resend", "coupon"}[i%2]
		due := T0.Add(time.Duration((i*5)%11) * time.Minute)
		p := pending(user, campaign, fmt.Sprintf("d-%02d", (i*13)%23), due)
		update(t, s, ns, user, T0, func(u *store.UserState) { u.Pending = append(u.Pending, p) })
		want = append(want, store.Claim{UserID: user, Pending: *p})
	}
	slices.SortFunc(want, func(a, b store.Claim) int {
		return cmp.Or(a.Pending.DueAt.Compare(b.Pending.DueAt), strings.Compare(a.Pending.ID, b.Pending.ID))
	})
	claimed, err := s.Claim(ctx, ns, T0, time.Minute, 1, 42)
	require.NoError(t, err)
	require.Len(t, claimed, 1)

	all, pages := listAll(t, pl, ns, store.PendingQuery{Limit: 5})
	require.Equal(t, claimKeys(want), claimKeys(all), "every delivery, in (DueAt, ID) order")
	require.Equal(t, []int{5, 5, 5, 5, 3}, pages)
	for _, c := range all {
		require.Equal(t, c.UserID, c.Pending.Trigger.UserID)
		require.Equal(t, "ev-"+c.Pending.ID, c.Pending.Trigger.ID)
		require.Equal(t, "pro", c.Pending.Trigger.Properties["plan"])
		require.True(t, c.Pending.Trigger.Time.Equal(c.Pending.DueAt.Add(-time.Hour)))
		require.Equal(t, int64(1), c.Pending.Activation)
		if c.Pending.ID == claimed[0].Pending.ID {
			require.Equal(t, uint64(42), c.Pending.Token, "a claimed delivery is listed with its lease")
		}
	}
	one, _ := listAll(t, pl, ns, store.PendingQuery{Limit: 1000})
	require.Equal(t, claimKeys(want), claimKeys(one), "one page")

	for _, campaign := range []string{"resend", "coupon"} {
		got, _ := listAll(t, pl, ns, store.PendingQuery{CampaignID: campaign, Limit: 4})
		var wantOf []store.Claim
		for _, c := range want {
			if c.Pending.CampaignID == campaign {
				wantOf = append(wantOf, c)
			}
		}
		require.Equal(t, claimKeys(wantOf), claimKeys(got), campaign)
	}
	none, err := pl.ListPending(ctx, ns, store.PendingQuery{CampaignID: "unknown", Limit: 10})
	require.NoError(t, err)
	require.Empty(t, none)

	// The cursor is exclusive, and starts between deliveries of one due
	// time when it names one of them.
	mid := want[10].Pending
	after, err := pl.ListPending(ctx, ns, store.PendingQuery{AfterDue: mid.DueAt, AfterID: mid.ID, Limit: 3})
	require.NoError(t, err)
	require.Equal(t, claimKeys(want[11:14]), claimKeys(after))
	last := want[len(want)-1].Pending
	end, err := pl.ListPending(ctx, ns, store.PendingQuery{AfterDue: last.DueAt, AfterID: last.ID, Limit: 3})
	require.NoError(t, err)
	require.Empty(t, end, "nothing after the last")

	// Copies: changing a listed delivery changes nothing stored.
	all[0].Pending.CampaignID, all[0].Pending.DueAt = "changed", T0.Add(-time.Hour)
	again, err := pl.ListPending(ctx, ns, store.PendingQuery{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, claimKeys(want[:1]), claimKeys(again))

	// Deliveries that go are no longer listed.
	update(t, s, ns, want[0].UserID, T0, func(u *store.UserState) { u.RemovePending(u.Find(want[0].Pending.ID)) })
	rest, _ := listAll(t, pl, ns, store.PendingQuery{Limit: 10})
	require.Equal(t, claimKeys(want[1:]), claimKeys(rest))
	other, err := pl.ListPending(ctx, ns+"-other", store.PendingQuery{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, other, "namespaces keep their own deliveries")

	for _, limit := range []int{0, -1, store.MaxPendingPage + 1} {
		_, err := pl.ListPending(ctx, ns, store.PendingQuery{Limit: limit})
		require.ErrorIs(t, err, store.ErrInvalidQuery, "limit %d", limit)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = pl.ListPending(cancelled, ns, store.PendingQuery{Limit: 10})
	require.ErrorIs(t, err, context.Canceled)
}
