package connector

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// userWith returns a user whose log holds a decision about each of n
// follow-ups, each received once.
func userWith(n int) *store.UserState {
	u := &store.UserState{}
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for i := range n {
		id := fmt.Sprintf("follow-up-%05d", i)
		u.Log = append(u.Log, rule.Decision{Kind: rule.Delivered, CampaignID: id, At: at})
		u.Receipts = append(u.Receipts, store.Receipt{CampaignID: id, At: at})
	}
	return u
}

// ExplainUser goes over the user's state once, not once per follow-up:
// 8 times the follow-ups take about 8 times as long (and 64 times when
// each follow-up scans the whole log). Each size is timed at its fastest
// of several runs, and the bound leaves room for a busy machine.
func TestExplainUserGrowsLinearlyWithTheFollowUps(t *testing.T) {
	fastest := func(n int) time.Duration {
		u := userWith(n)
		best := time.Duration(1<<63 - 1)
		for range 5 {
			start := time.Now()
			xs := explainAll(u, "ann")
			best = min(best, time.Since(start))
			if len(xs) != n {
				t.Fatalf("%d explanations, want %d", len(xs), n)
			}
		}
		return best
	}
	small, large := fastest(500), fastest(4000)
	if ratio := float64(large) / float64(small); ratio > 30 {
		t.Fatalf("4,000 follow-ups take %v, 500 take %v: %.0f times as long for 8 times as many", large, small, ratio)
	}
}

// explainAll says what explainOne says about each campaign of the user,
// in the order of their IDs.
func TestExplainAllAgreesWithExplainOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	ids := []string{"a", "b", "c", "d", ""}
	u := &store.UserState{}
	for i := range 300 {
		id := ids[rng.IntN(len(ids))]
		switch rng.IntN(3) {
		case 0:
			u.Log = append(u.Log, rule.Decision{Kind: rule.Scheduled, CampaignID: id, At: at.Add(time.Duration(i) * time.Minute)})
		case 1:
			u.Pending = append(u.Pending, &store.Pending{ID: fmt.Sprint("p", i), CampaignID: id, DueAt: at})
		case 2:
			u.Receipts = append(u.Receipts, store.Receipt{CampaignID: id, At: at.Add(time.Duration(i) * time.Hour)})
		}
	}
	got := explainAll(u, "ann")
	var want []Explanation
	for _, id := range ids[:4] {
		want = append(want, explainOne(u, "ann", id))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("explainAll = %+v\nwant %+v", got, want)
	}
}
