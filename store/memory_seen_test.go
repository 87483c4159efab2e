package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestSeenSetMatchesModel adds, renews and prunes event IDs of one set at
// random, expiries out of order included (engines with different dedup
// windows, clocks that step back), and compares the set with a plain map
// after each step: what it remembers, what Prune removes, and the earliest
// expiry the shard's horizon is built from.
func TestSeenSetMatchesModel(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		var s seenSet
		model := map[uint64]int64{}
		now := int64(1_000_000)
		for step := range 5000 {
			switch op := r.IntN(20); {
			case op < 17:
				h := uint64(r.IntN(400)) // some IDs come back
				if until, ok := model[h]; ok && until > now {
					continue // a duplicate: the engine does not remember it again
				}
				until := now + int64(1+r.IntN(1000))
				s.add(h, until)
				model[h] = until
			case op < 19:
				now += int64(r.IntN(50))
				want := 0
				for h, until := range model {
					if until <= now {
						delete(model, h)
						want++
					}
				}
				if got := s.prune(now); got != want {
					t.Fatalf("seed %d step %d: prune removed %d, want %d", seed, step, got, want)
				}
				if s.size() != len(model) {
					t.Fatalf("seed %d step %d: %d remembered after prune, want %d", seed, step, s.size(), len(model))
				}
				if s.index != nil && len(s.list) > 0 && s.list[0].until <= now {
					t.Fatalf("seed %d step %d: an expiry at %d left in the heap at %d", seed, step, s.list[0].until, now)
				}
			default:
				now -= int64(r.IntN(20)) // a clock stepping back
			}
			for h := range uint64(400) {
				until, ok := model[h]
				if want := ok && until > now; s.has(h, now) != want {
					t.Fatalf("seed %d step %d: has(%d) = %v, want %v", seed, step, h, !want, want)
				}
			}
			first, ok := s.earliest()
			if ok != (len(model) > 0) {
				t.Fatalf("seed %d step %d: earliest reports %v with %d remembered", seed, step, ok, len(model))
			}
			for _, until := range model {
				if first > until {
					t.Fatalf("seed %d step %d: earliest %d after an expiry at %d: the horizon would skip it", seed, step, first, until)
				}
			}
		}
	}
}

// TestPruneOfHotUserKeepsItsExpiriesInOrder gives one user 20,000
// remembered event IDs, spread over the dedup window, then prunes once a
// minute as the window passes: each Prune finds the IDs due to expire at
// the top of the user's heap of expiries, which holds one entry per
// remembered ID and none expired, rather than walking every ID. (Without
// the heap, a Prune walked all of them: a bot or a shared anonymous ID
// with a million events in the window cost a walk of a million entries a
// minute, under the lock of its shard.)
func TestPruneOfHotUserKeepsItsExpiriesInOrder(t *testing.T) {
	const n = 20_000
	ctx := context.Background()
	m := NewMemory()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	window := 72 * time.Hour
	step := window / n
	for i := range n {
		at := t0.Add(time.Duration(i) * step)
		if err := m.Update(ctx, "", "anonymous", at, Dedup{EventID: fmt.Sprint("e", i), KeepUntil: at.Add(window)}, func(*UserState, bool) {}); err != nil {
			t.Fatal(err)
		}
	}
	set := func() *seenSet {
		sh := &m.space("").shards[shardOf("anonymous")]
		var s *seenSet
		sh.users.each(func(u *memUser) { s = &u.extra.seen })
		return s
	}
	for now := t0.Add(window); !now.After(t0.Add(2 * window)); now = now.Add(time.Minute) {
		if _, err := m.Prune(ctx, "", now, now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		left := int(m.SeenCount(""))
		want := n - int(now.Sub(t0.Add(window))/step) - 1
		if left < want-1 || left > want+1 {
			t.Fatalf("at %v: %d IDs remembered, want about %d", now, left, want)
		}
		s := set()
		if s == nil || s.index == nil {
			break // down to the list, or nothing
		}
		if len(s.list) != len(s.index) || s.list[0].until <= now.UnixNano() {
			t.Fatalf("at %v: %d expiries in the heap for %d IDs, the first at %v", now, len(s.list), len(s.index), time.Unix(0, s.list[0].until).UTC())
		}
	}
	if got := m.SeenCount(""); got != 0 {
		t.Fatalf("%d IDs remembered after the window passed twice", got)
	}
}

// BenchmarkPruneHotUser measures a minute of one user's events, n in the
// 72-hour dedup window (n/4320 a minute), then a Prune, which forgets the
// IDs of the minute that left the window: flat per event as n grows
// tenfold when Prune costs what expires rather than what is remembered.
func BenchmarkPruneHotUser(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1000, 10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprint("seen=", n), func(b *testing.B) {
			m := NewMemory()
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			win := 72 * time.Hour
			step := win / time.Duration(n)
			for i := range n {
				at := t0.Add(time.Duration(i) * step)
				if err := m.Update(ctx, "", "hot", at, Dedup{EventID: fmt.Sprint("e", i), KeepUntil: at.Add(win)}, func(*UserState, bool) {}); err != nil {
					b.Fatal(err)
				}
			}
			now := t0.Add(win)
			i := n
			b.ResetTimer()
			for b.Loop() {
				// one minute of events arrives, then Prune
				now = now.Add(time.Minute)
				for at := now.Add(-time.Minute); at.Before(now); at = at.Add(step) {
					_ = m.Update(ctx, "", "hot", at, Dedup{EventID: fmt.Sprint("e", i), KeepUntil: at.Add(win)}, func(*UserState, bool) {})
					i++
				}
				if _, err := m.Prune(ctx, "", now, now.Add(-time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(m.SeenCount("")), "seen")
		})
	}
}

// TestHotUsersBurstLeavesWithTheWindow gives one user a burst of 20,000
// remembered event IDs, then one event an hour: once the burst has left
// the dedup window, what the user holds for its IDs is sized for the few
// it remembers, not for the burst (a Go map and a slice keep what they
// grew to unless copied).
func TestHotUsersBurstLeavesWithTheWindow(t *testing.T) {
	const burst = 20_000
	ctx := context.Background()
	m := NewMemory()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	window := 72 * time.Hour
	remember := func(id string, at time.Time) {
		t.Helper()
		if err := m.Update(ctx, "", "anonymous", at, Dedup{EventID: id, KeepUntil: at.Add(window)}, func(*UserState, bool) {}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range burst {
		remember(fmt.Sprint("burst", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	now := t0
	for h := range 200 {
		now = t0.Add(time.Duration(h+1) * time.Hour)
		remember(fmt.Sprint("trickle", h), now)
		if _, err := m.Prune(ctx, "", now, now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	var s *seenSet
	m.space("").shards[shardOf("anonymous")].users.each(func(u *memUser) { s = &u.extra.seen })
	if got := m.SeenCount(""); got != 72 {
		t.Fatalf("%d IDs remembered, want the 72 of the last 72 hours", got)
	}
	if s.index == nil || cap(s.list) > 4*len(s.list) {
		t.Fatalf("the heap of expiries holds %d entries in room for %d: sized for the burst", len(s.list), cap(s.list))
	}
}
