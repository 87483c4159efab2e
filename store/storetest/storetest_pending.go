package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
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
	for _, id := range []string{"\xff", "a\x00b"} { // IDs no delivery has, nor every store can read
		for field, q := range map[string]store.PendingQuery{"campaign_id": {CampaignID: id, Limit: 10}, "after_id": {AfterDue: T0, AfterID: id, Limit: 10}} {
			got, err := pl.ListPending(ctx, ns, q)
			require.ErrorIs(t, err, store.ErrInvalidQuery, "%s %q: got %v", field, id, got)
			var ve *rule.ValidationError
			require.ErrorAs(t, err, &ve, "%s %q", field, id)
			require.Equal(t, field, ve.Field)
		}
	}
	// A cursor before or after every time a store keeps (a caller's "from
	// the start" or "to the end") lists all or none.
	first, _ := listAll(t, pl, ns, store.PendingQuery{AfterDue: time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC), AfterID: "~", Limit: 10})
	require.Equal(t, claimKeys(want[1:]), claimKeys(first), "a cursor in the year -5000")
	none, err = pl.ListPending(ctx, ns, store.PendingQuery{AfterDue: time.Date(300_000, 1, 1, 0, 0, 0, 0, time.UTC), AfterID: "~", Limit: 10})
	require.NoError(t, err)
	require.Empty(t, none, "a cursor in the year 300000")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = pl.ListPending(cancelled, ns, store.PendingQuery{Limit: 10})
	require.ErrorIs(t, err, context.Canceled)
}

// testListPendingMany checks the order of a listing in which one user
// holds many deliveries (more than a store may keep inline), interleaved
// in due time with other users'.
func testListPendingMany(t *testing.T, s store.Store, ns string) {
	pl := lister(t, s)
	var want []store.Claim
	add := func(user string, i int) {
		due := T0.Add(time.Duration((i*7)%25) * time.Minute)
		p := pending(user, "resend", fmt.Sprintf("%s-%02d", user, i), due)
		update(t, s, ns, user, T0, func(u *store.UserState) { u.Pending = append(u.Pending, p) })
		want = append(want, store.Claim{UserID: user, Pending: *p})
	}
	for i := range 24 {
		add("many", i)
		if i%4 == 0 {
			add("few", i)
		}
	}
	slices.SortFunc(want, func(a, b store.Claim) int {
		return cmp.Or(a.Pending.DueAt.Compare(b.Pending.DueAt), strings.Compare(a.Pending.ID, b.Pending.ID))
	})
	got, _ := listAll(t, pl, ns, store.PendingQuery{Limit: 4})
	require.Equal(t, claimKeys(want), claimKeys(got), "every delivery, in (DueAt, ID) order")
}

// testTriggerIDs checks that a delivery's trigger event ID comes back as
// it was stored, whatever its shape: UUIDs in every case, strings that
// nearly are UUIDs, long and empty IDs. It reads them back from an update,
// after an update that changed other state, from a claim and from a
// listing.
func testTriggerIDs(t *testing.T, s store.Store, ns string) {
	ids := []string{
		"6f1c2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f80",  // lower case
		"6F1C2A3E-9B4D-4C8E-A1F2-3B4C5D6E7F80",  // upper case
		"6f1C2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f80",  // mixed case
		"00000000-0000-0000-0000-000000000000",  // digits only
		"ffffffff-ffff-ffff-ffff-ffffffffffff",  // all letters
		"6f1c2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f8g",  // not hex
		"6f1c2a3e+9b4d-4c8e-a1f2-3b4c5d6e7f80",  // a sign for a dash
		"6f1c2a3e9b4d4c8ea1f23b4c5d6e7f80abcd",  // 36 digits, no dashes
		"{6f1c2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f8}", // braces
		"sg_event_id-ZGVmYXVsdC1ldmVudA",
		strings.Repeat("x", 300),
		"",
	}
	pl, listable := s.(store.PendingLister)
	for i, id := range ids {
		user := fmt.Sprint("trigger-", i)
		p := pending(user, "resend", fmt.Sprint("d-", i), T0.Add(time.Duration(i)*time.Second))
		p.Trigger.ID = id
		update(t, s, ns, user, T0, func(u *store.UserState) { u.Pending = append(u.Pending, p) })
		update(t, s, ns, user, T0, func(u *store.UserState) {
			require.Len(t, u.Pending, 1)
			require.Equal(t, id, u.Pending[0].Trigger.ID, "read back")
			u.Receipts = append(u.Receipts, store.Receipt{CampaignID: "other", At: T0})
		})
		update(t, s, ns, user, T0, func(u *store.UserState) {
			require.Len(t, u.Pending, 1)
			require.Equal(t, id, u.Pending[0].Trigger.ID, "after an update of other state")
			require.Equal(t, p.ID, u.Pending[0].ID)
		})
	}
	if listable {
		listed, _ := listAll(t, pl, ns, store.PendingQuery{Limit: 5})
		require.Len(t, listed, len(ids))
		for i, c := range listed {
			require.Equal(t, ids[i], c.Pending.Trigger.ID, "listed %s", c.Pending.ID)
		}
	}
	claimed, err := s.Claim(context.Background(), ns, T0.Add(time.Hour), time.Minute, len(ids), 7)
	require.NoError(t, err)
	require.Len(t, claimed, len(ids))
	got := map[string]string{}
	for _, c := range claimed {
		got[c.Pending.ID] = c.Pending.Trigger.ID
	}
	for i, id := range ids {
		require.Equal(t, id, got[fmt.Sprint("d-", i)], "claimed")
	}
}

// testAttempts checks that a delivery's attempt count and directory error
// count come back as they were stored, small or large, through an
// update, a later update of other state and a claim, and that a count set
// back to 0 reads 0.
func testAttempts(t *testing.T, s store.Store, ns string) {
	counts := []int{0, 1, 254, 255, 256, 65535, 65536, 1<<31 + 5}
	dirErrors := func(i int) int { return counts[len(counts)-1-i] }
	for i, n := range counts {
		user := fmt.Sprint("attempts-", i)
		p := pending(user, "resend", fmt.Sprint("a-", i), T0)
		p.Attempt, p.DirectoryErrors = n, dirErrors(i)
		update(t, s, ns, user, T0, func(u *store.UserState) { u.Pending = append(u.Pending, p) })
		update(t, s, ns, user, T0, func(u *store.UserState) {
			require.Equal(t, n, u.Pending[0].Attempt, "read back")
			require.Equal(t, dirErrors(i), u.Pending[0].DirectoryErrors, "directory errors read back")
			u.Receipts = append(u.Receipts, store.Receipt{CampaignID: "other", At: T0})
		})
		update(t, s, ns, user, T0, func(u *store.UserState) {
			require.Equal(t, n, u.Pending[0].Attempt, "after an update of other state")
			require.Equal(t, dirErrors(i), u.Pending[0].DirectoryErrors, "directory errors after an update of other state")
			u.Pending[0].Attempt++
			u.Pending[0].DirectoryErrors = i % 2 * (dirErrors(i) + 1) // even: back to 0
		})
	}
	claimed, err := s.Claim(context.Background(), ns, T0, time.Minute, len(counts), 9)
	require.NoError(t, err)
	require.Len(t, claimed, len(counts))
	for _, c := range claimed {
		var i int
		_, err := fmt.Sscan(strings.TrimPrefix(c.Pending.ID, "a-"), &i)
		require.NoError(t, err)
		require.Equal(t, counts[i]+1, c.Pending.Attempt, "claimed %s", c.Pending.ID)
		require.Equal(t, i%2*(dirErrors(i)+1), c.Pending.DirectoryErrors, "directory errors of claimed %s", c.Pending.ID)
	}
}

// testFarTimes checks that a delivery's times come back as stored when
// they lie far from now, its trigger's before 1678 (beyond int64
// nanoseconds before 1970), and that such a delivery is claimed when due
// and listed.
func testFarTimes(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	trig := time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)
	due := time.Date(2261, 12, 31, 23, 59, 59, 999_999_000, time.UTC)
	p := pending("far", "resend", "d-far", due)
	p.Trigger.Time = trig
	update(t, s, ns, "far", T0, func(u *store.UserState) { u.Pending = append(u.Pending, p) })
	check := func(got store.Pending, how string) {
		t.Helper()
		require.True(t, got.DueAt.Equal(due), "%s: due %v", how, got.DueAt)
		require.True(t, got.ReadyAt.Equal(due), "%s: ready %v", how, got.ReadyAt)
		require.True(t, got.Trigger.Time.Equal(trig), "%s: trigger time %v", how, got.Trigger.Time)
	}
	update(t, s, ns, "far", T0, func(u *store.UserState) {
		require.Len(t, u.Pending, 1)
		check(*u.Pending[0], "read back")
	})
	if pl, ok := s.(store.PendingLister); ok {
		listed, err := pl.ListPending(ctx, ns, store.PendingQuery{Limit: 10})
		require.NoError(t, err)
		require.Len(t, listed, 1)
		check(listed[0].Pending, "listed")
	}
	none, err := s.Claim(ctx, ns, T0, time.Minute, 10, 1)
	require.NoError(t, err)
	require.Empty(t, none, "not due yet")
	claimed, err := s.Claim(ctx, ns, due, time.Minute, 10, 2)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.True(t, claimed[0].Pending.DueAt.Equal(due))
	require.True(t, claimed[0].Pending.Trigger.Time.Equal(trig))
}

// testPropertyCopies checks that the trigger properties User and
// ListPending return are the caller's to change, nested values included:
// a host that redacts an explanation or a listing before logging it must
// not change what is stored, and so sent.
func testPropertyCopies(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	stored := func() map[string]any {
		return map[string]any{"plan": "pro", "cart": map[string]any{"sku": "A1", "tags": []any{"x", "y"}}}
	}
	update(t, s, ns, "ann", T0, func(u *store.UserState) {
		p := pending("ann", "f", "d1", T0.Add(time.Hour))
		p.Trigger.Properties = stored()
		u.Pending = append(u.Pending, p)
	})
	redact := func(m map[string]any) {
		m["plan"] = "***"
		cart := m["cart"].(map[string]any)
		cart["sku"] = "***"
		cart["tags"].([]any)[0] = "***"
	}
	u, err := s.User(ctx, ns, "ann")
	require.NoError(t, err)
	require.Len(t, u.Pending, 1)
	redact(u.Pending[0].Trigger.Properties)
	if pl, ok := s.(store.PendingLister); ok {
		page, err := pl.ListPending(ctx, ns, store.PendingQuery{Limit: 10})
		require.NoError(t, err)
		require.Len(t, page, 1)
		require.Equal(t, stored(), page[0].Pending.Trigger.Properties, "User handed out the stored properties")
		redact(page[0].Pending.Trigger.Properties)
	}
	u, err = s.User(ctx, ns, "ann")
	require.NoError(t, err)
	require.Equal(t, stored(), u.Pending[0].Trigger.Properties, "a caller's change reached the store")
	claims, err := s.Claim(ctx, ns, T0.Add(2*time.Hour), time.Minute, 10, 7)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	require.Equal(t, stored(), claims[0].Pending.Trigger.Properties, "a caller's change reached the claimed delivery")
}
