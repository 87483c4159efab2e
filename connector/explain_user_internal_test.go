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

// BenchmarkExplainUser measures the explanations of a user with a
// decision and a receipt about each of n follow-ups: one op goes over the
// user's state once, so the time per follow-up stays flat as n grows
// (going over it once per follow-up, it grew with n: 0.38 s at 5,000,
// 4.2 s at 20,000).
func BenchmarkExplainUser(b *testing.B) {
	for _, n := range []int{500, 4000, 20000} {
		b.Run(fmt.Sprint("follow-ups=", n), func(b *testing.B) {
			u := userWith(n)
			b.ReportAllocs()
			for b.Loop() {
				if xs := explainAll(u, "ann"); len(xs) != n {
					b.Fatalf("%d explanations, want %d", len(xs), n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/follow-up")
		})
		if n > 4000 {
			continue // seconds an op
		}
		// The baseline: explainOne for each follow-up, each going over
		// the user's whole state.
		b.Run(fmt.Sprint("follow-ups=", n, "/each"), func(b *testing.B) {
			u := userWith(n)
			b.ReportAllocs()
			for b.Loop() {
				for i := range n {
					explainOne(u, "ann", u.Log[i].CampaignID)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/follow-up")
		})
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
