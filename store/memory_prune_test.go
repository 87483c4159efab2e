package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// TestPruneHorizonSkipsNothingDue runs one random history of updates —
// remembered event IDs, receipts, sends, conversion windows and log
// entries with random expiries — and prunes, twice: once skipping the
// shards whose horizon shows nothing to forget, once walking every shard.
// Every Prune must remove as much in both, and leave the same state.
func TestPruneHorizonSkipsNothingDue(t *testing.T) {
	defer func(v bool) { pruneWalksAll = v }(pruneWalksAll)
	for seed := range uint64(10) {
		pruneWalksAll = false
		skipped, skips := pruneHistory(t, seed)
		pruneWalksAll = true
		walked, _ := pruneHistory(t, seed)
		if !slices.Equal(skipped, walked) {
			t.Fatalf("seed %d: pruning with horizons gave\n%v\nwalking every shard gave\n%v", seed, skipped, walked)
		}
		if skips == 0 {
			t.Fatalf("seed %d: no Prune skipped a shard: the test does not exercise horizons", seed)
		}
	}
}

// pruneHistory returns what each Prune of a seeded history removed and
// what was left, and how many shard visits its horizon let Prune skip.
func pruneHistory(t *testing.T, seed uint64) (trace []string, skips int) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 3))
	m := NewMemory()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	later := func() time.Time { return now.Add(time.Duration(1+r.IntN(600)) * time.Minute) }
	for step := range 3000 {
		user := fmt.Sprint("u", r.IntN(300))
		switch op := r.IntN(10); {
		case op < 8:
			dedup := Dedup{}
			if r.IntN(2) == 0 {
				dedup = Dedup{EventID: fmt.Sprint("e", step), KeepUntil: later()}
			}
			err := m.Update(ctx, "", user, now, dedup, func(u *UserState, _ bool) {
				switch r.IntN(5) {
				case 0:
					rc := Receipt{CampaignID: fmt.Sprint("c", r.IntN(3)), At: now}
					if r.IntN(2) == 0 {
						rc.Expires = later()
					}
					u.SetReceipt(rc)
				case 1:
					u.Sends = append(u.Sends, Send{CampaignID: "c", At: now, Expires: later()})
				case 2:
					u.Conversions = append(u.Conversions, ConversionWindow{CampaignID: "c", ConversionID: "v", Opened: now, Deadline: later()})
				case 3:
					u.Log = append(u.Log, rule.Decision{Kind: rule.Scheduled, At: now})
				}
			})
			if err != nil {
				t.Fatal(err)
			}
		default:
			now = now.Add(time.Duration(r.IntN(90)) * time.Minute)
			sp := m.space("")
			before := 0
			for i := range sp.shards {
				if sp.shards[i].horizon.nothingDue(unixNS(now), unixNS(now.Add(-3*time.Hour))) {
					before++
				}
			}
			skips += before
			n, err := m.Prune(ctx, "", now, now.Add(-3*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			st, _ := m.Stats(ctx, "")
			trace = append(trace, fmt.Sprintf("step %d: removed %d, %d users, %d event IDs", step, n, st.Users, m.SeenCount("")))
		}
	}
	return trace, skips
}
