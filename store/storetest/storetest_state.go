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

func testUsers(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	_, err := s.User(ctx, ns, "nobody")
	require.ErrorIs(t, err, store.ErrNotFound)

	update(t, s, ns, "ann", T0, func(u *store.UserState) {
		require.True(t, u.IsEmpty())
		u.Pending = append(u.Pending, pending("ann", "resend", "d1", T0.Add(time.Hour)))
		u.SetReceipt(store.Receipt{CampaignID: "thanks", At: T0})
		u.Sends = append(u.Sends, store.Send{CampaignID: "thanks", Channel: event.Email, At: T0, Expires: T0.Add(48 * time.Hour)})
		u.Conversions = append(u.Conversions, store.ConversionWindow{CampaignID: "thanks", ConversionID: "buy", Opened: T0, Deadline: T0.Add(72 * time.Hour)},
			store.ConversionWindow{CampaignID: "held", ConversionID: "buy", Opened: T0, Deadline: T0.Add(72 * time.Hour), Control: true})
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
	require.Len(t, got.Conversions, 2)
	require.Equal(t, "buy", got.Conversions[0].ConversionID)
	require.False(t, got.Conversions[0].Control, "a receipt's window")
	require.Equal(t, "held", got.Conversions[1].CampaignID)
	require.True(t, got.Conversions[1].Control, "a window of the control group")
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

func testPrune(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	require.NoError(t, s.Update(ctx, ns, "gone", T0, store.Dedup{EventID: "e", KeepUntil: T0.Add(time.Hour)}, func(u *store.UserState, _ bool) {
		u.SetReceipt(store.Receipt{CampaignID: "f", At: T0, Expires: T0.Add(time.Hour)})
		u.Sends = append(u.Sends, store.Send{CampaignID: "f", At: T0, Expires: T0.Add(time.Hour)})
		u.Conversions = append(u.Conversions, store.ConversionWindow{CampaignID: "f", ConversionID: "c", Opened: T0, Deadline: T0.Add(time.Hour)})
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
	// Bounds before or after every time a store keeps (a caller's "from
	// the start" or "to the end") select all or none.
	ancient, far := time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(300_000, 1, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, []string{"0", "1", "2", "3"}, collect(store.InteractionQuery{Since: ancient, Until: far}), "from -5000 to 300000")
	require.Empty(t, collect(store.InteractionQuery{Since: far}), "since the year 300000")
	require.Empty(t, collect(store.InteractionQuery{Until: ancient}), "until the year -5000")
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
