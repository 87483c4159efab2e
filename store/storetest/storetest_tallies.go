package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// tallier returns s as a store.Tallier, or skips the test.
func tallier(t *testing.T, s store.Store) store.Tallier {
	ts, ok := s.(store.Tallier)
	if !ok {
		t.Skip("the store does not implement store.Tallier")
	}
	return ts
}

// hour returns the start of the n-th hour after T0.
func hour(n int) time.Time { return T0.Add(time.Duration(n) * time.Hour) }

func tally(h int, campaign string, kind rule.DecisionKind, reason rule.Reason, rl string, n int64) store.Tally {
	return store.Tally{Hour: hour(h), CampaignID: campaign, Kind: kind, Reason: reason, Rule: rl, Count: n}
}

// readTallies returns every tally of ns matching q.
func readTallies(t *testing.T, ts store.Tallier, ns string, q store.TallyQuery) []store.Tally {
	t.Helper()
	got, err := ts.Tallies(context.Background(), ns, q)
	require.NoError(t, err)
	for _, g := range got {
		require.Equal(t, time.UTC, g.Hour.Location(), "hours come back in UTC")
	}
	return got
}

// requireTallies compares tallies by value (hours with Equal).
func requireTallies(t *testing.T, want, got []store.Tally, msgAndArgs ...any) {
	t.Helper()
	norm := func(ts []store.Tally) []string {
		out := make([]string, len(ts))
		for i, x := range ts {
			out[i] = fmt.Sprintf("%s|%s|%s|%s|%s|%d", x.Hour.UTC().Format(time.RFC3339Nano), x.CampaignID, x.Kind, x.Reason, x.Rule, x.Count)
		}
		return out
	}
	require.Equal(t, norm(want), norm(got), msgAndArgs...)
}

// testTallies checks that AddTallies adds up counts per key, within a call
// and across calls, and that Tallies returns one count per key in order.
func testTallies(t *testing.T, s store.Store, ns string) {
	ts := tallier(t, s)
	ctx := context.Background()
	require.Empty(t, readTallies(t, ts, ns, store.TallyQuery{}), "a new namespace has no tallies")
	paris := time.FixedZone("Paris", 3600)
	exception := `email_opened of "newsletter"`
	require.NoError(t, ts.AddTallies(ctx, ns, []store.Tally{
		tally(1, "resend", rule.Cancelled, rule.ReasonException, exception, 2),
		tally(0, "resend", rule.Scheduled, "", "", 5),
		tally(0, "coupon", rule.Delivered, "", "", 1),
		tally(1, "resend", rule.Cancelled, rule.ReasonException, exception, 3), // the same key: adds up
		{Hour: hour(0).In(paris), CampaignID: "resend", Kind: rule.Scheduled, Count: 1},
		tally(0, "", rule.Duplicate, rule.ReasonDuplicateEvent, "", 4),
		tally(0, "resend", rule.Suppressed, rule.ReasonAlreadyPending, "", 0), // zero: nothing to add
	}))
	require.NoError(t, ts.AddTallies(ctx, ns, nil), "nothing to add")
	require.NoError(t, ts.AddTallies(ctx, ns, []store.Tally{
		tally(0, "resend", rule.Scheduled, "", "", 10),
		tally(1, "resend", rule.Cancelled, rule.ReasonException, `push_opened of "cart"`, 1), // another exception: its own count
		tally(1, "resend", rule.Cancelled, rule.ReasonCampaignStopped, "", 7),
	}))
	requireTallies(t, []store.Tally{
		tally(0, "", rule.Duplicate, rule.ReasonDuplicateEvent, "", 4),
		tally(0, "coupon", rule.Delivered, "", "", 1),
		tally(0, "resend", rule.Scheduled, "", "", 16),
		tally(1, "resend", rule.Cancelled, rule.ReasonCampaignStopped, "", 7),
		tally(1, "resend", rule.Cancelled, rule.ReasonException, exception, 5),
		tally(1, "resend", rule.Cancelled, rule.ReasonException, `push_opened of "cart"`, 1),
	}, readTallies(t, ts, ns, store.TallyQuery{}))
	require.Empty(t, readTallies(t, ts, ns+"-other", store.TallyQuery{}), "namespaces keep their own tallies")
	// Bounds before or after every time a store keeps (a caller's "from
	// the start" or "to the end") select all or none.
	ancient, far := time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(300_000, 1, 1, 0, 0, 0, 0, time.UTC)
	requireTallies(t, readTallies(t, ts, ns, store.TallyQuery{}), readTallies(t, ts, ns, store.TallyQuery{Since: ancient, Until: far}), "from -5000 to 300000")
	require.Empty(t, readTallies(t, ts, ns, store.TallyQuery{Since: far}), "since the year 300000")
	require.Empty(t, readTallies(t, ts, ns, store.TallyQuery{Since: ancient, Until: ancient.Add(time.Hour)}), "until the year -5000")
}

// testTallyQuery checks the selection by hour ([Since, Until), an hour by
// its start), by campaign and by a list of campaigns, and the refusal of
// an empty range and of a campaign with a list.
func testTallyQuery(t *testing.T, s store.Store, ns string) {
	ts := tallier(t, s)
	ctx := context.Background()
	var all []store.Tally
	for h := range 5 {
		for _, c := range []string{"", "a", "b", "c"} {
			all = append(all, tally(h, c, rule.Delivered, "", "", int64(10*h+len(c)+1)))
		}
	}
	require.NoError(t, ts.AddTallies(ctx, ns, all))
	pick := func(keep func(store.Tally) bool) []store.Tally { return filterTallies(all, keep) }
	for _, tc := range []struct {
		name string
		q    store.TallyQuery
		want []store.Tally
	}{
		{"everything", store.TallyQuery{}, all},
		{"hours 1 to 3", store.TallyQuery{Since: hour(1), Until: hour(3)},
			pick(func(x store.Tally) bool { return !x.Hour.Before(hour(1)) && x.Hour.Before(hour(3)) })},
		{"an hour is selected by its start", store.TallyQuery{Since: hour(1).Add(time.Minute), Until: hour(3).Add(time.Nanosecond)},
			pick(func(x store.Tally) bool { return x.Hour.After(hour(1)) && !x.Hour.After(hour(3)) })},
		{"no upper bound", store.TallyQuery{Since: hour(3)}, pick(func(x store.Tally) bool { return !x.Hour.Before(hour(3)) })},
		{"one campaign", store.TallyQuery{CampaignID: "b", Until: hour(2)},
			pick(func(x store.Tally) bool { return x.CampaignID == "b" && x.Hour.Before(hour(2)) })},
		{"a campaign without tallies", store.TallyQuery{CampaignID: "d"}, nil},
		{"some campaigns", store.TallyQuery{CampaignIDs: []string{"c", "a", "d"}, Since: hour(3)},
			pick(func(x store.Tally) bool {
				return (x.CampaignID == "a" || x.CampaignID == "c") && !x.Hour.Before(hour(3))
			})},
		{"a campaign listed twice", store.TallyQuery{CampaignIDs: []string{"b", "b"}, Until: hour(1)},
			pick(func(x store.Tally) bool { return x.CampaignID == "b" && x.Hour.Before(hour(1)) })},
		{"no campaign listed", store.TallyQuery{CampaignIDs: []string{""}, Since: hour(4)},
			pick(func(x store.Tally) bool { return x.CampaignID == "" && !x.Hour.Before(hour(4)) })},
		{"an empty list selects every campaign", store.TallyQuery{CampaignIDs: []string{}, Since: hour(4)},
			pick(func(x store.Tally) bool { return !x.Hour.Before(hour(4)) })},
		{"only campaigns without tallies", store.TallyQuery{CampaignIDs: []string{"d", "e"}}, nil},
		{"before every hour", store.TallyQuery{Since: hour(-3), Until: hour(0)}, nil},
	} {
		requireTallies(t, tc.want, readTallies(t, ts, ns, tc.q), tc.name)
	}
	for _, q := range []store.TallyQuery{{Since: hour(2), Until: hour(2)}, {Since: hour(2), Until: hour(1)}} {
		_, err := ts.Tallies(ctx, ns, q)
		require.ErrorIs(t, err, store.ErrInvalidQuery, "until %s, since %s", q.Until, q.Since)
	}
	_, err := ts.Tallies(ctx, ns, store.TallyQuery{CampaignID: "a", CampaignIDs: []string{"b"}})
	require.ErrorIs(t, err, store.ErrInvalidQuery, "CampaignID and CampaignIDs together")
	var ve *rule.ValidationError
	require.ErrorAs(t, err, &ve, "CampaignID and CampaignIDs together")
	require.Equal(t, "campaign_ids", ve.Field)
}

// testTallyQueryOddCampaigns checks the selection of campaigns whose IDs
// hold quotes, backslashes, characters beyond ASCII or what reads as
// JSON, alone and in a list of 10,000, and the refusal of an ID no tally
// can have (not text, [event.CheckText]) rather than the tallies of
// another campaign, an error of the database, or nothing.
func testTallyQueryOddCampaigns(t *testing.T, s store.Store, ns string) {
	ts := tallier(t, s)
	ctx := context.Background()
	odd := []string{`q"uote`, `back\slash`, `\"`, "'single'", "h\u00e9llo ☃ 𝄞", "\uFFFD", "<&>", "\u2028",
		`["a"]`, "null", "%_*", strings.Repeat("long-", 51)}
	var all []store.Tally
	for i, c := range odd {
		all = append(all, tally(i%3, c, rule.Delivered, "", "", int64(i+1)))
	}
	require.NoError(t, ts.AddTallies(ctx, ns, all))
	for i, c := range odd {
		requireTallies(t, all[i:i+1], readTallies(t, ts, ns, store.TallyQuery{CampaignIDs: []string{c}}), "%q", c)
		requireTallies(t, all[i:i+1], readTallies(t, ts, ns, store.TallyQuery{CampaignID: c}), "%q", c)
	}
	many := make([]string, 0, 10_000)
	for i := range cap(many) - len(odd) {
		many = append(many, fmt.Sprintf("absent-%d", i))
	}
	many = append(many, odd...)
	want := slices.SortedFunc(slices.Values(all), func(a, b store.Tally) int { return a.Key().Compare(b.Key()) })
	requireTallies(t, want, readTallies(t, ts, ns, store.TallyQuery{CampaignIDs: many}), "10,000 campaigns")
	for _, id := range []string{"\xff", "\xef\xbf", "a\x00b"} {
		for _, q := range []store.TallyQuery{{CampaignIDs: []string{"a", id}}, {CampaignID: id}} {
			got, err := ts.Tallies(ctx, ns, q)
			require.ErrorIs(t, err, store.ErrInvalidQuery, "%q: got %v", id, got)
			var ve *rule.ValidationError
			require.ErrorAs(t, err, &ve, "%q", id)
			if q.CampaignID != "" {
				require.Equal(t, "campaign_id", ve.Field)
			} else {
				require.Equal(t, "campaign_ids[1]", ve.Field)
			}
		}
	}
}

// testTallyValidation checks that a call with one bad tally adds nothing
// and names what is wrong.
func testTallyValidation(t *testing.T, s store.Store, ns string) {
	ts := tallier(t, s)
	ctx := context.Background()
	good := tally(0, "a", rule.Delivered, "", "", 1)
	for _, tc := range []struct {
		name  string
		bad   store.Tally
		field string
	}{
		{"an hour that is not the start of one", store.Tally{Hour: hour(0).Add(time.Minute), CampaignID: "a", Kind: rule.Delivered, Count: 1}, "tallies[1].hour"},
		{"a negative count", tally(0, "a", rule.Delivered, "", "", -1), "tallies[1].count"},
		{"no kind", tally(0, "a", "", "", "", 1), "tallies[1].kind"},
		{"a NUL byte", tally(0, "a\x00b", rule.Delivered, "", "", 1), "tallies[1].campaign_id"},
		{"invalid UTF-8", tally(0, "a", rule.Cancelled, rule.ReasonException, "\xff", 1), "tallies[1].rule"},
	} {
		err := ts.AddTallies(ctx, ns, []store.Tally{good, tc.bad})
		require.ErrorIs(t, err, store.ErrInvalidTally, tc.name)
		var ve *rule.ValidationError
		require.ErrorAs(t, err, &ve, tc.name)
		require.Equal(t, tc.field, ve.Field, tc.name)
	}
	require.Empty(t, readTallies(t, ts, ns, store.TallyQuery{}), "a refused call adds nothing, not even its good tallies")
}

// testConcurrentTallies checks that engines adding the same keys at once,
// in different orders, lose nothing.
func testConcurrentTallies(t *testing.T, s store.Store, ns string) {
	ts := tallier(t, s)
	ctx := context.Background()
	var keys []store.Tally
	for h := range 3 {
		for _, c := range []string{"a", "b", "c"} {
			for _, k := range []rule.DecisionKind{rule.Scheduled, rule.Delivered} {
				keys = append(keys, tally(h, c, k, "", "", 0))
			}
		}
	}
	const workers, rounds = 6, 15
	want := make([]int64, len(keys))
	batches := make([][][]store.Tally, workers)
	for w := range workers {
		r := rand.New(rand.NewPCG(uint64(w), 1))
		for range rounds {
			var batch []store.Tally
			for _, i := range r.Perm(len(keys))[:1+r.IntN(len(keys))] {
				x := keys[i]
				x.Count = int64(1 + r.IntN(3))
				want[i] += x.Count
				batch = append(batch, x)
			}
			batches[w] = append(batches[w], batch)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range batches[w] {
				errs <- ts.AddTallies(ctx, ns, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var expect []store.Tally
	for i, x := range keys {
		x.Count = want[i]
		expect = append(expect, x)
	}
	slices.SortFunc(expect, func(a, b store.Tally) int { ka, kb := a.Key(), b.Key(); return ka.Compare(kb) })
	requireTallies(t, expect, readTallies(t, ts, ns, store.TallyQuery{}))
}

// testPruneTallies checks that PruneTallies removes the hours that start
// before its cut-off, and only those.
func testPruneTallies(t *testing.T, s store.Store, ns string) {
	ts := tallier(t, s)
	ctx := context.Background()
	var all []store.Tally
	for h := range 4 {
		all = append(all, tally(h, "a", rule.Delivered, "", "", 1), tally(h, "b", rule.Scheduled, "", "", 2))
	}
	require.NoError(t, ts.AddTallies(ctx, ns, all))
	n, err := ts.PruneTallies(ctx, ns, hour(0))
	require.NoError(t, err)
	require.Zero(t, n, "no hour starts before the first")
	n, err = ts.PruneTallies(ctx, ns, hour(1).Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, 4, n, "hours 0 and 1 start before the cut-off")
	requireTallies(t, all[4:], readTallies(t, ts, ns, store.TallyQuery{}))
	n, err = ts.PruneTallies(ctx, ns+"-other", hour(10))
	require.NoError(t, err)
	require.Zero(t, n, "another namespace has nothing to prune")
	requireTallies(t, all[4:], readTallies(t, ts, ns, store.TallyQuery{}))
	// A cut-off before or after every time a store keeps.
	n, err = ts.PruneTallies(ctx, ns, time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Zero(t, n, "the year -5000")
	requireTallies(t, all[4:], readTallies(t, ts, ns, store.TallyQuery{}))
	n, err = ts.PruneTallies(ctx, ns, time.Date(300_000, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, 4, n, "the year 300000: every hour starts before it")
	require.Empty(t, readTallies(t, ts, ns, store.TallyQuery{}))
	require.NoError(t, ts.AddTallies(ctx, ns, all[4:]))

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, ts.AddTallies(cancelled, ns, all), context.Canceled)
	_, err = ts.Tallies(cancelled, ns, store.TallyQuery{})
	require.ErrorIs(t, err, context.Canceled)
	_, err = ts.PruneTallies(cancelled, ns, hour(10))
	require.ErrorIs(t, err, context.Canceled)
	requireTallies(t, all[4:], readTallies(t, ts, ns, store.TallyQuery{}), "calls on a cancelled context change nothing")
}

// onceTallier returns s as a store.OnceTallier, or skips the test.
func onceTallier(t *testing.T, s store.Store) store.OnceTallier {
	ts, ok := s.(store.OnceTallier)
	if !ok {
		t.Skip("the store does not implement store.OnceTallier (a store in the host's process need not)")
	}
	return ts
}

// testTalliesOnce checks that AddTalliesOnce adds a writer's batch once,
// skips a batch numbered no higher than the writer's latest, keeps
// writers and namespaces apart, takes no number when it refuses a batch,
// and forgets a writer with the tallies of its latest hour.
func testTalliesOnce(t *testing.T, s store.Store, ns string) {
	ts := onceTallier(t, s)
	ctx := context.Background()
	a := []store.Tally{tally(0, "resend", rule.Scheduled, "", "", 3)}
	b := []store.Tally{tally(1, "resend", rule.Scheduled, "", "", 5)}
	count := func(ns string) int64 {
		var n int64
		for _, x := range readTallies(t, ts, ns, store.TallyQuery{}) {
			n += x.Count
		}
		return n
	}
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w1", 1, a))
	require.Equal(t, int64(3), count(ns))
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w1", 1, a), "sent again: its reply was lost")
	require.Equal(t, int64(3), count(ns), "added once")
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w1", 2, b))
	require.Equal(t, int64(8), count(ns), "the next batch")
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w1", 1, a))
	require.Equal(t, int64(8), count(ns), "an older batch")
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w2", 1, a))
	require.Equal(t, int64(11), count(ns), "another writer numbers its own batches")
	require.NoError(t, ts.AddTalliesOnce(ctx, ns+"-other", "w1", 1, a))
	require.Equal(t, int64(3), count(ns+"-other"), "another namespace")
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w1", 3, nil), "nothing to add")
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w1", 3, a), "an empty batch takes no number")
	require.Equal(t, int64(14), count(ns))

	for _, bad := range []struct {
		name    string
		writer  string
		seq     int64
		tallies []store.Tally
	}{
		{"no writer", "", 4, a},
		{"a writer with a NUL byte", "w\x00", 4, a},
		{"a writer too long", strings.Repeat("w", store.TallyWriterMax+1), 4, a},
		{"seq 0", "w1", 0, a},
		{"a bad tally", "w1", 4, []store.Tally{tally(2, "resend", rule.Scheduled, "", "", 1), tally(2, "resend", "", "", "", 1)}},
	} {
		require.ErrorIs(t, ts.AddTalliesOnce(ctx, ns, bad.writer, bad.seq, bad.tallies), store.ErrInvalidTally, bad.name)
	}
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, strings.Repeat("w", store.TallyWriterMax), 1, a), "a writer of the longest length")
	require.Equal(t, int64(17), count(ns))
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w1", 4, b), "a refused batch took no number")
	require.Equal(t, int64(22), count(ns))

	// w3's latest hour is 0, w1's 1 (its last batch counts hour 0 only:
	// decisions counted late): pruning hour 0 forgets w3 only.
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w3", 1, a))
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w1", 5, a))
	require.Equal(t, int64(28), count(ns))
	_, err := ts.PruneTallies(ctx, ns, hour(1))
	require.NoError(t, err)
	require.Equal(t, int64(10), count(ns), "hour 1's counts stay")
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w3", 1, a))
	require.Equal(t, int64(13), count(ns), "w3 is forgotten with its hour: its batch 1 is new again")
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w1", 5, a))
	require.Equal(t, int64(13), count(ns), "w1 is remembered with hour 1, the latest it counted")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, ts.AddTalliesOnce(cancelled, ns, "w1", 6, b), context.Canceled)
	require.NoError(t, ts.AddTalliesOnce(ctx, ns, "w1", 6, b), "a cancelled call took no number")
	require.Equal(t, int64(18), count(ns))
}

// testConcurrentTalliesOnce checks that calls sending one batch at once
// (a writer's retry racing its first try, still running) add it once,
// while the batches of other writers all go in.
func testConcurrentTalliesOnce(t *testing.T, s store.Store, ns string) {
	ts := onceTallier(t, s)
	ctx := context.Background()
	const writers, tries = 6, 4
	var wg sync.WaitGroup
	errs := make(chan error, writers*tries)
	for w := range writers {
		for range tries {
			wg.Go(func() {
				errs <- ts.AddTalliesOnce(ctx, ns, fmt.Sprintf("w%d", w), 1, []store.Tally{
					tally(0, "resend", rule.Scheduled, "", "", 1),
					tally(0, fmt.Sprintf("f%d", w), rule.Delivered, "", "", 1),
				})
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got := readTallies(t, ts, ns, store.TallyQuery{})
	require.Len(t, got, writers+1)
	for _, x := range got {
		want := int64(1)
		if x.CampaignID == "resend" {
			want = writers
		}
		require.Equal(t, want, x.Count, "%s %s", x.CampaignID, x.Kind)
	}
}

// filterTallies returns the tallies of ts that keep keeps, in order (nil
// for none).
func filterTallies(ts []store.Tally, keep func(store.Tally) bool) []store.Tally {
	var out []store.Tally
	for _, x := range ts {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}
