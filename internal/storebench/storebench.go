// Package storebench holds the store benchmarks that SQLite's and
// PostgreSQL's modules run alike: each fills its store with the data here
// (and, on PostgreSQL, analyzes it), then times the same reads.
package storebench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// FillTallies adds, in namespace "", six tallies for every hour of the 30
// days up to end to each of 250 follow-ups (those of the dashboard's
// BenchmarkCampaignsPage500Campaigns): one in six is of a kind the health
// page shows (failed).
func FillTallies(tb testing.TB, s store.Tallier, end time.Time) {
	tb.Helper()
	ctx := context.Background()
	var ts []store.Tally
	for i := range 250 {
		id := fmt.Sprintf("follow-up-%03d", i)
		for h := range 30 * 24 {
			hour := end.Add(-time.Duration(h) * time.Hour)
			ts = append(ts,
				store.Tally{Hour: hour, CampaignID: id, Kind: rule.Scheduled, Count: 5},
				store.Tally{Hour: hour, CampaignID: id, Kind: rule.Suppressed, Reason: rule.ReasonAlreadyPending, Count: 1},
				store.Tally{Hour: hour, CampaignID: id, Kind: rule.Cancelled, Reason: rule.ReasonException, Rule: "x", Count: 2},
				store.Tally{Hour: hour, CampaignID: id, Kind: rule.Delivered, Count: 3},
				store.Tally{Hour: hour, CampaignID: id, Kind: rule.Failed, Reason: rule.ReasonSendError, Count: 1},
				store.Tally{Hour: hour, CampaignID: id, Kind: rule.Converted, Count: 1})
		}
		if len(ts) > 50_000 || i == 249 {
			if err := s.AddTallies(ctx, "", ts); err != nil {
				tb.Fatal(err)
			}
			ts = ts[:0]
		}
	}
}

// TalliesWeek reads a week of FillTallies' tallies up to end, as the
// dashboard's campaigns page does: of all of them, of one follow-up, and
// of a page of them (the page shows 20).
func TalliesWeek(b *testing.B, s store.Tallier, end time.Time) {
	q := store.TallyQuery{Since: end.Add(-7*24*time.Hour + time.Hour), Until: end.Add(time.Hour)}
	for _, c := range []struct {
		name string
		q    store.TallyQuery
	}{
		{"all", q},
		{"one", store.TallyQuery{Since: q.Since, Until: q.Until, CampaignID: "follow-up-007"}},
		{"page of 20", store.TallyQuery{Since: q.Since, Until: q.Until, CampaignIDs: followUps(100, 20)}},
		{"page of 50", store.TallyQuery{Since: q.Since, Until: q.Until, CampaignIDs: followUps(100, 50)}},
	} {
		b.Run(c.name, func(b *testing.B) { readTallies(b, s, c.q) })
	}
}

// TalliesOfKinds reads a day and a week of FillTallies' tallies up to end,
// as the dashboard's health page does: of every kind (what it read before
// TallyQuery.Kinds) and of the kinds it shows (failed, retried, deferred).
func TalliesOfKinds(b *testing.B, s store.Tallier, end time.Time) {
	trouble := []rule.DecisionKind{rule.Failed, rule.Retried, rule.Deferred}
	for _, span := range []struct {
		name string
		d    time.Duration
	}{{"day", 24 * time.Hour}, {"week", 7 * 24 * time.Hour}} {
		for _, kinds := range []struct {
			name  string
			kinds []rule.DecisionKind
		}{{"every kind", nil}, {"trouble", trouble}} {
			q := store.TallyQuery{Since: end.Add(-span.d + time.Hour), Until: end.Add(time.Hour), Kinds: kinds.kinds}
			b.Run(span.name+"/"+kinds.name, func(b *testing.B) { readTallies(b, s, q) })
		}
	}
}

// readTallies times the read of q, and reports how many tallies it gives.
func readTallies(b *testing.B, s store.Tallier, q store.TallyQuery) {
	b.ReportAllocs()
	var n int
	for b.Loop() {
		ts, err := s.Tallies(context.Background(), "", q)
		if err != nil {
			b.Fatal(err)
		}
		n = len(ts)
	}
	b.ReportMetric(float64(n), "tallies/op")
}

// followUps returns the IDs of n of FillTallies' follow-ups from the
// first-th on.
func followUps(first, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("follow-up-%03d", first+i)
	}
	return ids
}

// PendingUsers is how many users, each with one pending delivery,
// FillPending gives a namespace.
const PendingUsers = 200_000

// FillPending gives PendingUsers users of ns a receipt and a pending
// delivery each, as tracking their triggers from start on would, in
// batches of 1,000.
func FillPending(tb testing.TB, s store.BatchUpdater, ns string, start time.Time) {
	tb.Helper()
	ctx := context.Background()
	const batch = 1000
	ops := make([]store.Op, 0, batch)
	for first := 0; first < PendingUsers; first += batch {
		ops = ops[:0]
		for i := first; i < min(first+batch, PendingUsers); i++ {
			user := fmt.Sprintf("user-%08d-5f0c2a9e", i)
			at := start.Add(time.Duration(i) * time.Millisecond)
			ev := event.Event{ID: fmt.Sprintf("ev-%d", i), UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter",
				Time: at, Properties: map[string]any{"plan": "pro"}}
			ops = append(ops, store.Op{UserID: user, Now: at, Fn: func(u *store.UserState, _ bool) {
				u.SetReceipt(store.Receipt{CampaignID: "newsletter", At: at})
				u.Pending = append(u.Pending, &store.Pending{ID: ev.ID + "-resend", CampaignID: "resend", Activation: 1,
					Trigger: ev, DueAt: at.Add(time.Hour), ReadyAt: at.Add(time.Hour)})
			}})
		}
		if err := s.UpdateBatch(ctx, ns, ops); err != nil {
			tb.Fatal(err)
		}
	}
}

// PendingCounterStore is a store that counts its pending deliveries apart.
type PendingCounterStore interface {
	store.Store
	store.PendingCounter
}

// PendingCount times, on FillPending's namespace ns, what the pending
// deliveries gauge costs at each metric collection: Stats, which counts
// the users, campaigns and interactions too, then PendingCount.
func PendingCount(b *testing.B, s PendingCounterStore, ns string) {
	ctx := context.Background()
	b.Run("Stats", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st, err := s.Stats(ctx, ns)
			if err != nil || st.Pending != PendingUsers {
				b.Fatal(st, err)
			}
		}
	})
	b.Run("PendingCount", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n, err := s.PendingCount(ctx, ns)
			if err != nil || n != PendingUsers {
				b.Fatal(n, err)
			}
		}
	})
}
