package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

// BenchmarkMemoryCart runs the store's side of the abandoned-cart flow for
// 200,000 and 1,000,000 users, with the calls and update functions the
// engine makes: each user's push schedules a reminder (an update that
// remembers the push's event ID and adds a delivery), 40 % buy and 20 %
// open (updates that remember their ID and cancel the delivery), and the
// other 40 % are sent (claimed 1,024 at a time, confirmed and recorded in
// batches of 32). It reports each phase's time per call and the heap per
// pending delivery at the peak: the figures the memory store's structures
// are kept or removed by. One op is the whole flow.
func BenchmarkMemoryCart(b *testing.B) {
	for _, n := range []int{200_000, 1_000_000} {
		b.Run(fmt.Sprint("users=", n), func(b *testing.B) { memoryCart(b, n) })
	}
}

func memoryCart(b *testing.B, n int) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	users := cartUsers(n)
	var schedule, cancel, send time.Duration
	var cpuSchedule, cpuCancel, cpuSend time.Duration // the process's CPU time: steadier than the clock on a shared machine
	var peak int64
	for b.Loop() {
		var seq uint64
		eventID := func() string { // a UUID-shaped provider ID, fresh as a decoder's
			seq++
			return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", seq*2654435761&0xffffffff, seq&0xffff, seq>>16&0xfff, seq>>28&0xfff, seq)
		}
		m := NewMemory()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start, cpu := time.Now(), cpuTime()
		for i, u := range users {
			ev := event.Event{ID: eventID(), UserID: u, Kind: event.PushReceived, CampaignID: "abandoned_cart", Time: t0}
			due := t0.Add(4 * time.Hour)
			_ = m.Update(ctx, "", u, t0, Dedup{EventID: ev.ID, KeepUntil: t0.Add(24 * time.Hour)}, func(st *UserState, dup bool) {
				if dup {
					return
				}
				p := st.NewPending()
				*p = Pending{ID: fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15), CampaignID: "cart_reminder", Activation: 1,
					Trigger: ev, DueAt: due, ReadyAt: due}
				st.Pending = append(st.Pending, p)
			})
		}
		schedule += time.Since(start)
		cpuSchedule += cpuTime() - cpu
		runtime.GC()
		runtime.ReadMemStats(&after)
		peak += int64(after.HeapAlloc) - int64(before.HeapAlloc)

		at := t0.Add(time.Hour)
		start, cpu = time.Now(), cpuTime()
		for i, u := range users {
			kind := event.Purchase
			switch i % 10 {
			case 4, 5:
				kind = event.PushOpened
			case 6, 7, 8, 9:
				continue
			}
			ev := event.Event{ID: eventID(), UserID: u, Kind: kind, Time: at}
			_ = m.Update(ctx, "", u, at, Dedup{EventID: ev.ID, KeepUntil: at.Add(24 * time.Hour)}, func(st *UserState, dup bool) {
				for k := 0; k < len(st.Pending); {
					if p := st.Pending[k]; !dup && p.CampaignID == "cart_reminder" && ev.Time.After(p.Trigger.Time) && ev.Time.Before(p.DueAt) {
						st.RemovePending(k)
						continue
					}
					k++
				}
			})
		}
		cancel += time.Since(start)
		cpuCancel += cpuTime() - cpu

		now := t0.Add(5 * time.Hour)
		sent := 0
		var ops []Op
		start, cpu = time.Now(), cpuTime()
		for token := uint64(1); ; token++ {
			claims, err := m.Claim(ctx, "", now, time.Minute, 1024, token)
			if err != nil {
				b.Fatal(err)
			}
			if len(claims) == 0 {
				break
			}
			for k := 0; k < len(claims); k += 32 {
				group := claims[k:min(k+32, len(claims))]
				for _, record := range []bool{false, true} {
					ops = ops[:0]
					for _, c := range group {
						ops = append(ops, Op{UserID: c.UserID, Now: now, Fn: sendStep(c.Pending.ID, token, now, record)})
					}
					if err := m.UpdateBatch(ctx, "", ops); err != nil {
						b.Fatal(err)
					}
				}
			}
			sent += len(claims)
			m.RecycleClaims(claims)
		}
		send += time.Since(start)
		cpuSend += cpuTime() - cpu
		if want := n - n*6/10; sent != want {
			b.Fatalf("sent %d, want %d", sent, want)
		}
	}
	b.ReportMetric(float64(schedule.Nanoseconds())/float64(b.N*n), "ns/schedule")
	b.ReportMetric(float64(cancel.Nanoseconds())/float64(b.N*n*6/10), "ns/cancel")
	b.ReportMetric(float64(send.Nanoseconds())/float64(b.N*(n-n*6/10)), "ns/send")
	b.ReportMetric(float64(cpuSchedule.Nanoseconds())/float64(b.N*n), "cpu-ns/schedule")
	b.ReportMetric(float64(cpuCancel.Nanoseconds())/float64(b.N*n*6/10), "cpu-ns/cancel")
	b.ReportMetric(float64(cpuSend.Nanoseconds())/float64(b.N*(n-n*6/10)), "cpu-ns/send")
	b.ReportMetric(float64(peak)/float64(b.N*n), "B/pending")
}

// cartUsers returns n distinct user IDs shaped like hosts' own ("usr_"
// and 19 digits, or UUIDs), the same every run.
func cartUsers(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]string, n)
	for i := range out {
		if i%2 == 0 {
			out[i] = fmt.Sprintf("usr_%019d", r.Uint64()%1e19)
		} else {
			out[i] = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
		}
	}
	return out
}
