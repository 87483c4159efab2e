package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/storebench"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// BenchmarkTalliesWeek reads a week of tallies, as the dashboard's
// campaigns page does, from 250 follow-ups with six tallies in every hour
// of 30 days (the dashboard's BenchmarkCampaignsPage500Campaigns): of all
// of them, of one, and of a page of them (the page shows 20).
func BenchmarkTalliesWeek(b *testing.B) {
	s, end := analyzedTallies(b)
	storebench.TalliesWeek(b, s, end)
}

// BenchmarkTalliesOfKinds reads the tallies of a day and of a week, as
// the dashboard's health page does, of every kind and of the kinds it
// shows, from the tallies of BenchmarkTalliesWeek.
func BenchmarkTalliesOfKinds(b *testing.B) {
	s, end := analyzedTallies(b)
	storebench.TalliesOfKinds(b, s, end)
}

// analyzedTallies returns a store on a schema of its own holding
// storebench.FillTallies' tallies up to end, analyzed as autovacuum does
// after such a fill.
func analyzedTallies(b *testing.B) (*postgres.Store, time.Time) {
	schema := testSchema(b)
	s := openStore(b, postgres.WithSchema(schema))
	end := t0.Truncate(time.Hour)
	storebench.FillTallies(b, s, end)
	if _, err := newPool(b).Exec(context.Background(), "ANALYZE "+schema+".campaignconnector_tallies"); err != nil {
		b.Fatal(err)
	}
	return s, end
}
