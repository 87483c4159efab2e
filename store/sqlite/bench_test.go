package sqlite_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// The store's side of Track on the schedule path, as the engine calls it
// with its defaults (no decision log): one Update that remembers the event
// ID and adds a pending delivery, for a user with no state yet.
func BenchmarkUpdateSchedule(b *testing.B) {
	s := openStore(b, testPath(b))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := scheduleOne(ctx, s, i); err != nil {
			b.Fatal(err)
		}
	}
}

// The same from 4 × GOMAXPROCS goroutines, for throughput (the pool's default size
// bounds the concurrency: max(4, GOMAXPROCS) connections).
func BenchmarkUpdateScheduleParallel(b *testing.B) {
	s := openStore(b, testPath(b))
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4) // 4 × GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := scheduleOne(ctx, s, int(n.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func scheduleOne(ctx context.Context, s store.Store, i int) error {
	user := fmt.Sprintf("user-%d", i)
	now := t0.Add(time.Duration(i) * time.Millisecond)
	ev := event.Event{ID: fmt.Sprintf("ev-%d", i), UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter",
		Time: now, Properties: map[string]any{"plan": "pro"}}
	return s.Update(ctx, "bench", user, now, store.Dedup{EventID: ev.ID, KeepUntil: now.Add(72 * time.Hour)},
		func(u *store.UserState, dup bool) {
			if dup {
				return
			}
			u.Pending = append(u.Pending, &store.Pending{ID: ev.ID + "-resend", CampaignID: "resend", Activation: 1,
				Trigger: ev, DueAt: now.Add(time.Hour), ReadyAt: now.Add(time.Hour)})
		})
}

// The store's side of sending one delivery, as Tick does: a share of a
// Claim of 64, then two Updates, confirm (mark it sending) and record
// (remove it, keep a receipt).
func BenchmarkClaimAndComplete(b *testing.B) {
	s := openStore(b, testPath(b))
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if err := scheduleOne(ctx, s, i); err != nil {
			b.Fatal(err)
		}
	}
	now := t0.Add(time.Duration(b.N)*time.Millisecond + 2*time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	sent := 0
	for token := uint64(1); sent < b.N; token++ {
		claims, err := s.Claim(ctx, "bench", now, time.Minute, 64, token)
		if err != nil {
			b.Fatal(err)
		}
		if len(claims) == 0 {
			b.Fatalf("nothing to claim after %d of %d", sent, b.N)
		}
		for _, c := range claims {
			err := s.Update(ctx, "bench", c.UserID, now, store.Dedup{}, func(u *store.UserState, _ bool) {
				if i := u.Find(c.Pending.ID); i >= 0 && u.Pending[i].Token == token {
					u.Pending[i].Sending = true
					u.Pending[i].Attempt++
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			err = s.Update(ctx, "bench", c.UserID, now, store.Dedup{}, func(u *store.UserState, _ bool) {
				if i := u.Find(c.Pending.ID); i >= 0 && u.Pending[i].Token == token {
					u.RemovePending(i)
				}
				u.SetReceipt(store.Receipt{CampaignID: c.Pending.CampaignID, At: now, Expires: now.Add(30 * 24 * time.Hour)})
			})
			if err != nil {
				b.Fatal(err)
			}
			sent++
		}
	}
}

// Revision as the engine calls it on every Track and Tick: served from
// the cache while the notification connection is up.
func BenchmarkRevision(b *testing.B) {
	s := openStore(b, testPath(b))
	ctx := context.Background()
	if _, err := s.Revision(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Revision(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// An engine's flush of its decision tallies in steady state: 50 counts
// (10 follow-ups, 5 kinds each) added to keys the hour already holds.
func BenchmarkAddTallies(b *testing.B) {
	s := openStore(b, testPath(b))
	ctx := context.Background()
	var flush []store.Tally
	for c := range 10 {
		for _, k := range []rule.DecisionKind{rule.Scheduled, rule.Suppressed, rule.Cancelled, rule.Delivered, rule.Converted} {
			flush = append(flush, store.Tally{Hour: t0, CampaignID: fmt.Sprint("follow-up-", c), Kind: k, Count: 3})
		}
	}
	if err := s.AddTallies(ctx, "bench", flush); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.AddTallies(ctx, "bench", flush); err != nil {
			b.Fatal(err)
		}
	}
}

// A dashboard's page of 50 pending deliveries among 100,000 of 20
// follow-ups: the first page of all of them, and of one follow-up; and
// a page of 1,000 of all of them, as the dashboard counts them.
func BenchmarkListPending(b *testing.B) {
	s := openStore(b, testPath(b))
	ctx := context.Background()
	const pending, followUps = 100_000, 20
	ops := make([]store.Op, 0, 1000)
	for start := 0; start < pending; start += cap(ops) {
		ops = ops[:0]
		for i := start; i < start+cap(ops); i++ {
			user := fmt.Sprint("user-", i)
			due := t0.Add(time.Duration(i*7919%pending) * time.Second)
			p := newPending(user, fmt.Sprint("follow-up-", i%followUps), fmt.Sprint("d-", i), due)
			ops = append(ops, store.Op{UserID: user, Now: t0, Fn: func(u *store.UserState, _ bool) { u.Pending = append(u.Pending, p) }})
		}
		if err := s.UpdateBatch(ctx, "bench", ops); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name     string
		campaign string
		limit    int
	}{{"all", "", 50}, {"one_follow_up", "follow-up-7", 50}, {"all_1000", "", 1000}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				page, err := s.ListPending(ctx, "bench", store.PendingQuery{CampaignID: bc.campaign, Limit: bc.limit})
				if err != nil || len(page) != bc.limit {
					b.Fatal(len(page), err)
				}
			}
		})
	}
}
