package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// cancelBatchUsers is how many users the scenario of testCancelBatch
// schedules deliveries for; one more ("many") holds a dozen of the
// stopped follow-up's.
const cancelBatchUsers = 25

// populateCancelBatch fills ns with the scenario of testCancelBatch:
// follow-up "stop", stopped at the end of its second activation, with
// deliveries of activations 1 and 2 (cancelled) and 3 (a resume that
// overtook the stop: left), many of them due at the same time; "resumed",
// running its second activation; "keep", without a record. Ready times
// differ, due times repeat (the walk orders ties). The six first ready
// are then claimed with token 9, at a time when only they are due: the
// same six in every namespace the scenario fills (Claim promises only
// roughly earliest first). It returns the IDs of every delivery it
// scheduled, by follow-up, and of the claimed ones.
func populateCancelBatch(t *testing.T, s store.Store, ns string) (ids map[string][]string, claimed []string) {
	t.Helper()
	ctx := context.Background()
	for _, r := range []struct {
		id         string
		state      rule.State
		activation int64
	}{{"stop", rule.Stopped, 2}, {"resumed", rule.Active, 2}} {
		_, err := s.UpdateCampaign(ctx, ns, r.id, func(rec *store.CampaignRecord, _ bool) error {
			rec.Campaign, rec.State, rec.Activation = campaign(r.id), r.state, r.activation
			rec.CreatedAt, rec.UpdatedAt = T0, T0
			return nil
		})
		require.NoError(t, err)
	}
	ids = map[string][]string{}
	n := 0
	add := func(u *store.UserState, user, campaignID string, activation int64) {
		id := fmt.Sprintf("%s-%s-%d", campaignID, user, n)
		p := pending(user, campaignID, id, T0.Add(time.Duration(n%4)*time.Minute))
		p.ReadyAt = T0.Add(time.Duration(n) * time.Millisecond)
		p.Activation = activation
		u.Pending = append(u.Pending, p)
		ids[campaignID] = append(ids[campaignID], id)
		n++
	}
	for i := range cancelBatchUsers {
		user := fmt.Sprintf("u%02d", i)
		update(t, s, ns, user, T0, func(u *store.UserState) {
			add(u, user, "keep", 1)
			add(u, user, "stop", int64(1+i%2))
			if i%6 == 3 {
				add(u, user, "stop", 3)
			}
			add(u, user, "resumed", int64(1+i%2))
		})
	}
	update(t, s, ns, "many", T0, func(u *store.UserState) {
		for i := range 12 {
			add(u, "many", "stop", int64(1+i%3))
		}
	})
	claims, err := s.Claim(ctx, ns, T0.Add(5*time.Millisecond), time.Minute, 6, 9)
	require.NoError(t, err)
	require.Len(t, claims, 6)
	for _, c := range claims {
		claimed = append(claimed, c.Pending.ID)
	}
	return ids, claimed
}

// pendingLeft returns the deliveries ns holds for the users of the
// scenario of testCancelBatch, by ID.
func pendingLeft(t *testing.T, s store.Store, ns string) map[string]*store.Pending {
	t.Helper()
	left := map[string]*store.Pending{}
	users := []string{"many"}
	for i := range cancelBatchUsers {
		users = append(users, fmt.Sprintf("u%02d", i))
	}
	for _, user := range users {
		u, err := s.User(context.Background(), ns, user)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		require.NoError(t, err)
		for _, p := range u.Pending {
			left[p.ID] = p
		}
	}
	return left
}

func sortedClaims(cs []store.Claim) []store.Claim {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(a, b store.Claim) int { return strings.Compare(a.Pending.ID, b.Pending.ID) })
	return cs
}

// testCancelBatch checks, for stores that implement store.BatchCanceller,
// that walking a follow-up's cancellation a batch at a time (limits 1, 2,
// 7 and one above the backlog) removes what one CancelCampaign removes in
// a namespace filled the same way (the same claims, claimed ones
// included, none twice), each call no more than its limit, and what each
// call returns alone: a later activation's deliveries, other follow-ups'
// and other namespaces' stay; the walk goes past the deliveries it leaves
// and ends with next "". A follow-up without deliveries ends at once; a
// limit below 1 and a cursor the store did not make are errors wrapping
// store.ErrInvalidQuery; a cancelled context is an error that removes
// nothing.
func testCancelBatch(t *testing.T, s store.Store, ns string) {
	bc, ok := s.(store.BatchCanceller)
	if !ok {
		t.Skip("the store does not implement store.BatchCanceller")
	}
	ctx := context.Background()

	// What one CancelCampaign removes.
	twin := ns + "-twin"
	ids, claimed := populateCancelBatch(t, s, twin)
	want, err := s.CancelCampaign(ctx, twin, "stop")
	require.NoError(t, err)
	want = sortedClaims(want)
	var wantIDs []string
	for _, c := range want {
		wantIDs = append(wantIDs, c.Pending.ID)
	}
	require.Len(t, want, 25+8, "the scenario cancels activations 1 and 2 of \"stop\"")
	var claimedStop int
	for _, id := range claimed {
		if slices.Contains(wantIDs, id) {
			claimedStop++
		}
	}
	require.NotZero(t, claimedStop, "the scenario claims deliveries that go")

	for _, limit := range []int{1, 2, 7, 100} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			ns := fmt.Sprintf("%s-%d", ns, limit)
			ids2, claimed2 := populateCancelBatch(t, s, ns)
			require.Equal(t, ids, ids2)
			// The same deliveries, in whatever order: Claim promises
			// only roughly earliest first, and a SQL store returns its
			// rows in their order on disk, which other writers of the
			// table (other namespaces) can make differ.
			require.ElementsMatch(t, claimed, claimed2, "claims pick the same deliveries in both namespaces")
			other := ns + "-other"
			populateCancelBatch(t, s, other)
			before := pendingLeft(t, s, ns)

			var got []store.Claim
			seen := map[string]bool{}
			cursor, calls, emptyCalls := "", 0, 0
			for {
				calls++
				require.LessOrEqual(t, calls, len(ids["stop"])+2, "the walk does not end")
				removed, next, err := bc.CancelCampaignBatch(ctx, ns, "stop", cursor, limit)
				require.NoError(t, err)
				require.LessOrEqual(t, len(removed), limit, "call %d", calls)
				for _, c := range removed {
					require.False(t, seen[c.Pending.ID], "%s removed twice", c.Pending.ID)
					seen[c.Pending.ID] = true
				}
				got = append(got, removed...)
				if len(removed) == 0 && next != "" {
					emptyCalls++
				}
				// The call removed what it returned, and nothing else.
				left := pendingLeft(t, s, ns)
				for id := range before {
					_, stays := left[id]
					require.Equal(t, !seen[id], stays, "after call %d, delivery %s", calls, id)
				}
				if next == "" {
					break
				}
				require.NotEqual(t, cursor, next, "call %d did not move the cursor", calls)
				cursor = next
			}
			require.Equal(t, want, sortedClaims(got), "the walk removes what CancelCampaign removes")
			if limit == 1 {
				// Deliveries of activation 3 are visited and left: the
				// walk goes on past them.
				require.NotZero(t, emptyCalls, "the walk with limit 1 visits deliveries it leaves")
				require.GreaterOrEqual(t, calls, len(want), "limit 1 removes one delivery a call at most")
			}

			left := pendingLeft(t, s, ns)
			for id, p := range before {
				if seen[id] {
					continue
				}
				require.Contains(t, left, id)
				require.Equal(t, p, left[id], "delivery %s left as it was", id)
				if p.CampaignID == "stop" {
					require.Equal(t, int64(3), p.Activation, "delivery %s of stop left", id)
				}
			}
			require.Len(t, pendingLeft(t, s, other), len(before), "another namespace's deliveries stay")

			// A new walk finds nothing more to remove.
			removed, next, err := bc.CancelCampaignBatch(ctx, ns, "stop", "", len(before)+1)
			require.NoError(t, err)
			require.Empty(t, removed)
			require.Empty(t, next)
		})
	}

	// A follow-up without deliveries, and namespaces without any.
	populateCancelBatch(t, s, ns)
	for _, q := range []struct{ ns, campaignID string }{{ns, "none"}, {ns + "-nothing", "stop"}} {
		removed, next, err := bc.CancelCampaignBatch(ctx, q.ns, q.campaignID, "", 5)
		require.NoError(t, err)
		require.Empty(t, removed, "%+v", q)
		require.Empty(t, next, "%+v", q)
	}

	// Invalid arguments remove nothing.
	_, cursor, err := bc.CancelCampaignBatch(ctx, ns, "keep", "", 1)
	require.NoError(t, err)
	require.NotEmpty(t, cursor, "keep has more than one delivery")
	before := pendingLeft(t, s, ns)
	for _, limit := range []int{0, -1} {
		_, _, err := bc.CancelCampaignBatch(ctx, ns, "stop", "", limit)
		require.ErrorIs(t, err, store.ErrInvalidQuery, "limit %d", limit)
		_, _, err = bc.CancelCampaignBatch(ctx, ns, "stop", cursor, limit)
		require.ErrorIs(t, err, store.ErrInvalidQuery, "limit %d", limit)
	}
	for _, forged := range []string{"x", "not a cursor", "\x00", strings.Repeat("z", 300), "0", "-1", cursor + "\xff"} {
		removed, next, err := bc.CancelCampaignBatch(ctx, ns, "stop", forged, 5)
		require.ErrorIs(t, err, store.ErrInvalidQuery, "cursor %q", forged)
		require.Empty(t, removed)
		require.Empty(t, next)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = bc.CancelCampaignBatch(cancelled, ns, "stop", "", 5)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, before, pendingLeft(t, s, ns), "failed calls remove nothing")
}

// testCancelBatchCursor checks that a cursor is good for the campaign
// and namespace it was made for, as it was made: a byte of it changed, or
// passed for another campaign or namespace, it is refused with
// store.ErrInvalidQuery, and as made it goes on where it stopped.
func testCancelBatchCursor(t *testing.T, s store.Store, ns string) {
	bc, ok := s.(store.BatchCanceller)
	if !ok {
		t.Skip("the store does not implement store.BatchCanceller")
	}
	ctx := context.Background()
	for i, user := range []string{"ann", "bob"} {
		update(t, s, ns, user, T0, func(u *store.UserState) {
			u.Pending = append(u.Pending, pending(user, "f", "d-"+user, T0.Add(time.Duration(i)*time.Second)))
		})
	}
	first, cursor, err := bc.CancelCampaignBatch(ctx, ns, "f", "", 1)
	require.NoError(t, err)
	require.Len(t, first, 1)
	require.NotEmpty(t, cursor)
	for i := range len(cursor) {
		b := []byte(cursor)
		b[i] ^= 1
		_, _, err := bc.CancelCampaignBatch(ctx, ns, "f", string(b), 1)
		require.ErrorIs(t, err, store.ErrInvalidQuery, "byte %d changed: %q", i, b)
	}
	_, _, err = bc.CancelCampaignBatch(ctx, ns, "g", cursor, 1)
	require.ErrorIs(t, err, store.ErrInvalidQuery, "another campaign's cursor")
	_, _, err = bc.CancelCampaignBatch(ctx, ns+"-2", "f", cursor, 1)
	require.ErrorIs(t, err, store.ErrInvalidQuery, "another namespace's cursor")
	removed, _, err := bc.CancelCampaignBatch(ctx, ns, "f", cursor, 1)
	require.NoError(t, err)
	require.Len(t, removed, 1)
	require.ElementsMatch(t, []string{"d-ann", "d-bob"}, []string{first[0].Pending.ID, removed[0].Pending.ID},
		"the walk goes on past the first batch's delivery")
}
