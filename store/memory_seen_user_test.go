package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestUsersSeenIDsMatchModel drives a few users' remembered event IDs
// through Update and Prune at random, and compares them with a plain map:
// each user's IDs move between the inline slot, the short list and the
// map with its heap of expiries (grown by bursts, then shrunk) and back, renewed after they expire, with
// dedup windows of different lengths and a clock that steps back. What
// Update calls a duplicate, and what the store remembers after a Prune,
// must be the model's, and SeenCount, after every update, between the
// IDs live when last looked at and every ID not yet pruned, each once.
func TestUsersSeenIDsMatchModel(t *testing.T) {
	ctx := context.Background()
	users := []string{"a", "b", "c"}
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 11))
		m := NewMemory()
		model := map[string]map[string]time.Time{}
		for _, u := range users {
			model[u] = map[string]time.Time{}
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		// hi is the latest time a user's IDs were looked at: an ID that
		// expired by then and lives again at an earlier now (the clock
		// stepped back) may be remembered or forgotten.
		hi := map[string]time.Time{}
		pool := 8 + r.IntN(40) // some seeds stay below the list's bound
		for step := range 4000 {
			switch op := r.IntN(40); {
			case op == 0 && r.IntN(8) == 0: // a burst of new IDs, soon forgotten
				u := users[r.IntN(len(users))]
				for i := range 100 {
					id := fmt.Sprint("burst", step, "-", i)
					keep := now.Add(time.Duration(1+r.IntN(60)) * time.Second)
					if err := m.Update(ctx, "", u, now, Dedup{EventID: id, KeepUntil: keep}, func(*UserState, bool) {}); err != nil {
						t.Fatal(err)
					}
					model[u][id] = keep
				}
				if now.After(hi[u]) {
					hi[u] = now
				}
			case op < 34:
				u := users[r.IntN(len(users))]
				id := fmt.Sprint("e", r.IntN(pool))
				until, ok := model[u][id]
				want := ok && until.After(now)
				either := want && !until.After(hi[u])
				keep := now.Add(time.Duration(1+r.IntN(300)) * time.Second)
				var got bool
				if err := m.Update(ctx, "", u, now, Dedup{EventID: id, KeepUntil: keep}, func(_ *UserState, dup bool) { got = dup }); err != nil {
					t.Fatal(err)
				}
				if now.After(hi[u]) {
					hi[u] = now
				}
				if got != want && !either {
					t.Fatalf("seed %d step %d: user %s event %s at %v: duplicate %v, want %v", seed, step, u, id, now, got, want)
				}
				if !got {
					model[u][id] = keep
				}
				// Between Prunes, each ID counts once at most, expired or
				// not, and one live when last looked at counts.
				least, most := 0, 0
				for uu, ids := range model {
					for _, until := range ids {
						most++
						if until.After(hi[uu]) {
							least++
						}
					}
				}
				if got := m.SeenCount(""); got < int64(least) || got > int64(most) {
					t.Fatalf("seed %d step %d: %d IDs remembered after an update at %v, want %d to %d", seed, step, got, now, least, most)
				}
			case op < 36:
				now = now.Add(time.Duration(r.IntN(60)) * time.Second)
				if _, err := m.Prune(ctx, "", now, now.Add(-time.Hour)); err != nil {
					t.Fatal(err)
				}
				least, most := 0, 0
				for u, ids := range model {
					for id, until := range ids {
						switch {
						case !until.After(now):
							delete(ids, id)
						case until.After(hi[u]):
							least++
							most++
						default:
							most++
						}
					}
					if now.After(hi[u]) {
						hi[u] = now
					}
				}
				if got := m.SeenCount(""); got < int64(least) || got > int64(most) {
					t.Fatalf("seed %d step %d: %d IDs remembered after Prune at %v, want %d to %d", seed, step, got, now, least, most)
				}
			case op < 39:
				now = now.Add(time.Duration(r.IntN(30)) * time.Second)
			default:
				now = now.Add(-time.Duration(r.IntN(20)) * time.Second) // a clock stepping back
			}
		}
	}
}
