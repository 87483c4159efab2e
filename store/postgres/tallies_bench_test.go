package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// BenchmarkTalliesWeek reads a week of tallies, as the dashboard's
// campaigns page does, from 250 follow-ups with six tallies in every hour
// of 30 days (the dashboard's BenchmarkCampaignsPage500Campaigns): of all
// of them, of one, and of a page of them (the page shows 20).
func BenchmarkTalliesWeek(b *testing.B) {
	schema := testSchema(b)
	s := openStore(b, postgres.WithSchema(schema))
	ctx := context.Background()
	end := t0.Truncate(time.Hour)
	fillTallies(b, s, end)
	if _, err := newPool(b).Exec(ctx, "ANALYZE "+schema+".campaignconnector_tallies"); err != nil {
		b.Fatal(err) // as autovacuum does after such a fill
	}
	q := store.TallyQuery{Since: end.Add(-7*24*time.Hour + time.Hour), Until: end.Add(time.Hour)}
	for _, c := range []struct {
		name string
		q    store.TallyQuery
	}{
		{"all", q},
		{"one", store.TallyQuery{Since: q.Since, Until: q.Until, CampaignID: "follow-up-007"}},
		{"page of 20", store.TallyQuery{Since: q.Since, Until: q.Until, CampaignIDs: benchFollowUps(100, 20)}},
		{"page of 50", store.TallyQuery{Since: q.Since, Until: q.Until, CampaignIDs: benchFollowUps(100, 50)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				ts, err := s.Tallies(ctx, "", c.q)
				if err != nil {
					b.Fatal(err)
				}
				n = len(ts)
			}
			b.ReportMetric(float64(n), "tallies/op")
		})
	}
}

// BenchmarkTalliesOfKinds reads the tallies of a day and of a week, as
// the dashboard's health page does, of every kind (what it read before
// TallyQuery.Kinds) and of the kinds it shows (failed, retried,
// deferred: one tally in six of fillTallies'), from the tallies of
// BenchmarkTalliesWeek.
func BenchmarkTalliesOfKinds(b *testing.B) {
	schema := testSchema(b)
	s := openStore(b, postgres.WithSchema(schema))
	ctx := context.Background()
	end := t0.Truncate(time.Hour)
	fillTallies(b, s, end)
	if _, err := newPool(b).Exec(ctx, "ANALYZE "+schema+".campaignconnector_tallies"); err != nil {
		b.Fatal(err)
	}
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
			b.Run(span.name+"/"+kinds.name, func(b *testing.B) {
				b.ReportAllocs()
				var n int
				for b.Loop() {
					ts, err := s.Tallies(ctx, "", q)
					if err != nil {
						b.Fatal(err)
					}
					n = len(ts)
				}
				b.ReportMetric(float64(n), "tallies/op")
			})
		}
	}
}

// fillTallies adds six tallies for every hour of the 30 days up to end to
// each of 250 follow-ups.
func fillTallies(tb testing.TB, s store.Tallier, end time.Time) {
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

// benchFollowUps returns the IDs of n of fillTallies' follow-ups from the
// first-th on.
func benchFollowUps(first, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("follow-up-%03d", first+i)
	}
	return ids
}
