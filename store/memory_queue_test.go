package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

// TestDueQueueAgainstModel drives Memory's due queue (lazily deleted heap
// entries, deliveries moving between a user's inline slot and the others)
// with random updates — new deliveries, cancellations, re-timings,
// reorderings — and claims, against a plain list of what is pending: every
// claim must hand out exactly the deliveries due, NextDue must be the
// earliest, CampaignPendingCount must count each follow-up's deliveries
// once (though a delivery may have several valid heap entries), and each
// shard's heap must stay within twice its live deliveries plus the slack.
func TestDueQueueAgainstModel(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	defer func(s int) { heapSlack = s }(heapSlack)
	heapSlack = 2 // compact often
	type model struct {
		id, campaign string
		ready        time.Time
	}
	for seed := range uint64(10) {
		r := rand.New(rand.NewPCG(seed, 2))
		m := NewMemory()
		pending := map[string][]model{} // by user
		now, next := t0, 0
		users := make([]string, 40)
		for i := range users {
			users[i] = fmt.Sprint("u", i)
		}
		for step := range 6000 {
			user := users[r.IntN(len(users))]
			switch op := r.IntN(10); {
			case op < 4: // schedule
				next++
				id, campaign := fmt.Sprint("d", next), []string{"f", "g"}[r.IntN(2)]
				ready := now.Add(time.Duration(r.IntN(120)) * time.Minute)
				pending[user] = append(pending[user], model{id, campaign, ready})
				err := m.Update(ctx, "", user, now, Dedup{}, func(u *UserState, _ bool) {
					p := u.NewPending()
					*p = Pending{ID: id, CampaignID: campaign, Trigger: event.Event{UserID: user, Kind: event.EmailOpened, Time: now}, DueAt: ready, ReadyAt: ready}
					u.Pending = append(u.Pending, p)
				})
				if err != nil {
					t.Fatal(err)
				}
			case op < 6: // cancel one
				if len(pending[user]) == 0 {
					continue
				}
				k := r.IntN(len(pending[user]))
				id := pending[user][k].id
				pending[user] = slices.Delete(pending[user], k, k+1)
				_ = m.Update(ctx, "", user, now, Dedup{}, func(u *UserState, _ bool) { u.RemovePending(u.Find(id)) })
			case op < 7: // re-time one
				if len(pending[user]) == 0 {
					continue
				}
				k := r.IntN(len(pending[user]))
				ready := now.Add(time.Duration(r.IntN(120)) * time.Minute)
				pending[user][k].ready = ready
				id := pending[user][k].id
				_ = m.Update(ctx, "", user, now, Dedup{}, func(u *UserState, _ bool) { u.Pending[u.Find(id)].ReadyAt = ready })
			case op < 8: // reorder: the inline slot changes hands
				_ = m.Update(ctx, "", user, now, Dedup{}, func(u *UserState, _ bool) { slices.Reverse(u.Pending) })
			default: // time passes, and a claim takes what is due
				now = now.Add(time.Duration(r.IntN(20)) * time.Minute)
				var want []string
				earliest := time.Time{}
				for u, ps := range pending {
					for k := range ps {
						if !ps[k].ready.After(now) {
							want = append(want, ps[k].id)
							ps[k].ready = now.Add(time.Hour) // the lease
						}
						if earliest.IsZero() || ps[k].ready.Before(earliest) {
							earliest = ps[k].ready
						}
					}
					pending[u] = ps
				}
				claims, err := m.Claim(ctx, "", now, time.Hour, 1_000_000, uint64(step+1))
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, c := range claims {
					got = append(got, c.Pending.ID)
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d step %d: claimed %v, want %v", seed, step, got, want)
				}
				due, ok, err := m.NextDue(ctx, "")
				if err != nil || ok != !earliest.IsZero() || (ok && !due.Equal(earliest)) {
					t.Fatalf("seed %d step %d: NextDue = %v, %v, %v; want %v", seed, step, due, ok, err, earliest)
				}
			}
			sp := m.space("")
			live := 0
			for i := range sp.shards {
				h := &sp.shards[i].due
				if h.n > 2*h.live+heapSlack {
					t.Fatalf("seed %d step %d: shard %d holds %d entries for %d deliveries", seed, step, i, h.n, h.live)
				}
				if len(h.chunks) > h.n>>chunkShift+2 {
					t.Fatalf("seed %d step %d: shard %d keeps %d chunks for %d entries", seed, step, i, len(h.chunks), h.n)
				}
				live += h.live
			}
			total, of := 0, map[string]int64{}
			for _, ps := range pending {
				total += len(ps)
				for _, p := range ps {
					of[p.campaign]++
				}
			}
			if live != total {
				t.Fatalf("seed %d step %d: the shards count %d live deliveries, want %d", seed, step, live, total)
			}
			limit := int64(1 + r.IntN(2*total+2))
			for _, c := range []string{"f", "g"} {
				if n, err := m.CampaignPendingCount(ctx, "", c, limit); err != nil || n != min(limit, of[c]) {
					t.Fatalf("seed %d step %d: %s's pending up to %d: %d, %v; want %d", seed, step, c, limit, n, err, min(limit, of[c]))
				}
			}
		}
	}
}

// TestDueHeapAcrossChunks drives one heap over many chunks: random pushes,
// cancellations (entries gone stale), re-timings of the top (a claim) and
// pops, checked against a sorted list of the live deliveries, with chunks
// added as it grows and released as it shrinks.
func TestDueHeapAcrossChunks(t *testing.T) {
	for seed := range uint64(5) {
		r := rand.New(rand.NewPCG(seed, 7))
		var h dueHeap
		var pending []*memPending
		peak := 0 // the most entries the heap held
		for step := range 30_000 {
			phase := step / 10_000 // grow, churn, drain
			switch op := r.IntN(10); {
			case phase == 0 && op < 8, phase == 1 && op < 5, phase == 2 && op < 1:
				p := &memPending{flags: live, ready: int64(r.IntN(1 << 20))}
				pending = append(pending, p)
				h.push(p)
				h.live++
			case op < 7 && len(pending) > 0: // cancel one: its entry goes stale
				k := r.IntN(len(pending))
				pending[k].flags = 0
				pending = slices.Delete(pending, k, k+1)
				h.live--
				h.tidy()
			default: // claim the earliest: it moves later, or is delivered
				it, ok := h.top()
				if !ok {
					if len(pending) != 0 {
						t.Fatalf("seed %d step %d: empty heap, %d pending", seed, step, len(pending))
					}
					continue
				}
				earliest := slices.MinFunc(pending, func(a, b *memPending) int { return int(a.ready - b.ready) })
				if it.at != earliest.ready {
					t.Fatalf("seed %d step %d: top at %d, earliest pending at %d", seed, step, it.at, earliest.ready)
				}
				if r.IntN(2) == 0 {
					it.p.ready += int64(r.IntN(1 << 16))
					h.replaceTop(it.p)
				} else {
					it.p.flags = 0
					pending = slices.DeleteFunc(pending, func(p *memPending) bool { return p == it.p })
					h.live--
					h.tidy()
				}
			}
			if h.n > 2*h.live+heapSlack || len(h.chunks) > h.n>>chunkShift+2 || h.n > len(h.chunks)*chunkSize {
				t.Fatalf("seed %d step %d: %d entries in %d chunks for %d pending", seed, step, h.n, len(h.chunks), h.live)
			}
			peak = max(peak, h.n)
			if len(h.chunks) > 0 && len(h.chunks[0]) > min(max(4, 2*peak), chunkSize) {
				t.Fatalf("seed %d step %d: the first chunk holds %d entries for at most %d", seed, step, len(h.chunks[0]), peak)
			}
		}
		for len(pending) > 0 { // drain in order
			it, ok := h.top()
			if !ok {
				t.Fatalf("seed %d: heap empty with %d pending", seed, len(pending))
			}
			earliest := slices.MinFunc(pending, func(a, b *memPending) int { return int(a.ready - b.ready) })
			if it.at != earliest.ready {
				t.Fatalf("seed %d: drained at %d, earliest pending at %d", seed, it.at, earliest.ready)
			}
			it.p.flags = 0
			pending = slices.DeleteFunc(pending, func(p *memPending) bool { return p == it.p })
		}
		if _, ok := h.top(); ok || h.n != 0 || len(h.chunks) > 2 {
			t.Fatalf("seed %d: drained heap holds %d entries in %d chunks", seed, h.n, len(h.chunks))
		}
	}
}

// TestClaimHandsOutABacklogInDueOrder: with more deliveries due than a
// claim takes, each claim hands out the earliest due of all the shards,
// so that batch after batch the deliveries come in due order, lease of
// zero included (a delivery claimed is not handed out twice in a batch).
func TestClaimHandsOutABacklogInDueOrder(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, lease := range []time.Duration{time.Minute, 0} {
		m := NewMemory()
		rng := rand.New(rand.NewPCG(1, uint64(lease)))
		const n = 700
		for i := range n {
			user := fmt.Sprintf("user-%04d", i)
			due := t0.Add(time.Duration(rng.IntN(5000)) * time.Second) // ties too
			err := m.Update(ctx, "", user, t0, Dedup{}, func(u *UserState, _ bool) {
				u.Pending = append(u.Pending, &Pending{ID: "d-" + user, CampaignID: "f", Activation: 1,
					Trigger: event.Event{UserID: user, Kind: event.EmailReceived, Time: t0}, DueAt: due, ReadyAt: due})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		now := t0.Add(2 * time.Hour)
		var got []time.Time
		seen := map[string]bool{}
		for token := uint64(1); ; token++ {
			claims, err := m.Claim(ctx, "", now, lease, 256, token)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range claims {
				if seen[c.Pending.ID] && lease > 0 {
					t.Fatalf("lease %v: %s claimed twice", lease, c.Pending.ID)
				}
				seen[c.Pending.ID] = true
				got = append(got, c.Pending.DueAt)
			}
			if len(claims) < 256 || lease == 0 && token == 3 {
				break
			}
		}
		if lease > 0 && len(got) != n {
			t.Fatalf("lease %v: %d claimed, want %d", lease, len(got), n)
		}
		if lease == 0 {
			got = got[:256] // a lease of zero leaves the first batch due: the next claim may take it again
		}
		if !slices.IsSortedFunc(got, func(a, b time.Time) int { return a.Compare(b) }) {
			for i := 1; i < len(got); i++ {
				if got[i].Before(got[i-1]) {
					t.Fatalf("lease %v: claim %d due %s after claim %d due %s", lease, i, got[i].Format(time.TimeOnly), i-1, got[i-1].Format(time.TimeOnly))
				}
			}
		}
	}
}
