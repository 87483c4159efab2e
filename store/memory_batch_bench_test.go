package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// BenchmarkCancelMillion cancels the pending delivery of each of a million
// users, in random order (as exceptions arrive), one Update each or in
// UpdateBatch calls of 1,024: what the batch's look-ahead saves when every
// user's record is out of the caches. One op is one cancellation.
func BenchmarkCancelMillion(b *testing.B) {
	const n = 1_000_000
	t0 := time.Unix(1e9, 0).UTC()
	schedule := func(u *UserState, _ bool) {
		p := u.NewPending()
		p.ID, p.CampaignID, p.Trigger.Time = "0123456789abcdef", "cart_reminder", t0
		p.DueAt, p.ReadyAt = t0.Add(time.Hour), t0.Add(time.Hour)
		u.Pending = append(u.Pending, p)
	}
	cancel := func(u *UserState, _ bool) {
		if len(u.Pending) > 0 {
			u.RemovePending(0)
		}
	}
	for _, batch := range []int{1, 1024} {
		name := "Update"
		if batch > 1 {
			name = fmt.Sprint("UpdateBatch_", batch)
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var ops []Op
			done := 0
			var cpu time.Duration // the process's CPU time cancelling
			for done < b.N {
				b.StopTimer()
				m := NewMemory()
				users := make([]string, n)
				for i := range users {
					users[i] = fmt.Sprint("usr_", i*7919+100000000000000)
					_ = m.Update(ctx, "", users[i], t0, Dedup{}, schedule)
				}
				rand.Shuffle(n, func(i, j int) { users[i], users[j] = users[j], users[i] })
				k := min(n, b.N-done)
				runtime.GC()
				b.StartTimer()
				c := cpuTime()
				for i := 0; i < k; i += batch {
					if batch == 1 {
						_ = m.Update(ctx, "", users[i], t0, Dedup{}, cancel)
						continue
					}
					ops = ops[:0]
					for _, u := range users[i:min(k, i+batch)] {
						ops = append(ops, Op{UserID: u, Now: t0, Fn: cancel})
					}
					if err := m.UpdateBatch(ctx, "", ops); err != nil {
						b.Fatal(err)
					}
				}
				done += k
				cpu += cpuTime() - c
				b.StopTimer()
				st, err := m.Stats(ctx, "")
				if err != nil || st.Pending != int64(n-k) {
					b.Fatalf("%d pending after %d cancellations (%v)", st.Pending, k, err)
				}
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
