package sqlite_test

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/storebench"
)

// BenchmarkTalliesWeek reads a week of tallies, as the dashboard's
// campaigns page does, from 250 follow-ups with six tallies in every hour
// of 30 days (the dashboard's BenchmarkCampaignsPage500Campaigns): of all
// of them, of one, and of a page of them (the page shows 20).
func BenchmarkTalliesWeek(b *testing.B) {
	s := openStore(b, testPath(b))
	end := t0.Truncate(time.Hour)
	storebench.FillTallies(b, s, end)
	storebench.TalliesWeek(b, s, end)
}

// BenchmarkTalliesOfKinds reads the tallies of a day and of a week, as
// the dashboard's health page does, of every kind and of the kinds it
// shows, from the tallies of BenchmarkTalliesWeek.
func BenchmarkTalliesOfKinds(b *testing.B) {
	s := openStore(b, testPath(b))
	end := t0.Truncate(time.Hour)
	storebench.FillTallies(b, s, end)
	storebench.TalliesOfKinds(b, s, end)
}
