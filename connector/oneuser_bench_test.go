package connector_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// crowdUser is the user of the one-user benchmarks and tests.
const crowdUser = "usr_5c1e9a7d2b804f3e"

// fanOut returns the campaigns of a user with many follow-ups of one
// original: "digest", and n follow-ups of it, "f00000"…, each scheduled
// by a receipt of the digest an hour later, replacing the one the user
// waits for, cancelled by a session start, and due again at every
// receipt (re-eligible at once); and "reminder", which lets one user pile
// up deliveries (a push of "cart" schedules one, however many wait), all
// cancelled by a purchase.
func fanOut(n int) []rule.Campaign {
	cs := []rule.Campaign{{ID: "digest"}, {ID: "cart"},
		{ID: "reminder", Delay: rule.After(time.Hour), Reeligibility: rule.ReeligibleAfter(0), PendingPolicy: rule.AllowParallel,
			Triggers:   []rule.Trigger{{Kind: event.PushReceived, CampaignID: "cart"}},
			Exceptions: []rule.Exception{{Kind: event.Purchase}}}}
	for i := range n {
		cs = append(cs, rule.Campaign{ID: fmt.Sprintf("f%05d", i), Delay: rule.After(time.Hour),
			Reeligibility: rule.ReeligibleAfter(0), PendingPolicy: rule.ReplaceWithLatest,
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "digest"}},
			Exceptions: []rule.Exception{{Kind: event.SessionStart}}})
	}
	return cs
}

// fanOutEngine returns an engine on a memory store holding cs, written to
// the store directly as active campaigns (saving and publishing
// thousands one by one is another benchmark's subject), with an observer
// when observed (every decision is then built).
func fanOutEngine(tb testing.TB, cs []rule.Campaign, observed bool, opts ...connector.Option) (*connector.Engine, *store.Memory) {
	tb.Helper()
	mem := store.NewMemory()
	for _, c := range cs {
		_, err := mem.UpdateCampaign(context.Background(), "", c.ID, func(rec *store.CampaignRecord, _ bool) error {
			*rec = store.CampaignRecord{Campaign: c.Clone(), State: rule.Active, Activation: 1}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if observed {
		opts = append(opts, connector.WithObserver(connector.ObserverFunc(func(rule.Decision) {})))
	}
	e, err := connector.New(mem, noop, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return e, mem
}

// giveReceipts gives crowdUser a receipt of each follow-up of fanOut(n),
// received a day before at: the receipts its triggers check.
func giveReceipts(tb testing.TB, mem *store.Memory, n int, at time.Time) {
	tb.Helper()
	err := mem.Update(context.Background(), "", crowdUser, at, store.Dedup{}, func(u *store.UserState, _ bool) {
		for i := range n {
			u.Receipts = append(u.Receipts, store.Receipt{CampaignID: fmt.Sprintf("f%05d", i), At: at.Add(-24 * time.Hour)})
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// pileReminders gives crowdUser n pending reminders, triggered at at and
// due an hour later, in one store update.
func pileReminders(tb testing.TB, mem *store.Memory, n int, at time.Time) {
	tb.Helper()
	err := mem.Update(context.Background(), "", crowdUser, at, store.Dedup{}, func(u *store.UserState, _ bool) {
		for i := range n {
			p := u.NewPending()
			*p = store.Pending{ID: fmt.Sprintf("r%07d", i), CampaignID: "reminder", Activation: 1,
				Trigger: event.Event{ID: fmt.Sprint("push", i), UserID: crowdUser, Kind: event.PushReceived, CampaignID: "cart", Time: at},
				DueAt:   at.Add(time.Hour), ReadyAt: at.Add(time.Hour)}
			u.Pending = append(u.Pending, p)
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkOneUserUpdate measures what one Track costs the engine for a
// user with many follow-ups or many pending deliveries, with observers
// (every decision built):
//
//   - fanout/followups=n: a receipt of the digest schedules its n
//     follow-ups (each checked against the user's n receipts), a second
//     receipt replaces the n deliveries, and a session start cancels
//     them; one op is the three Tracks.
//   - cancel/pending=n: a purchase cancels the user's n pending
//     reminders; one op is that Track (the n reminders are put back
//     between ops, directly in the store, outside what is measured).
//
// cpu-ns/pending is the measured Tracks' CPU time per follow-up or
// pending delivery: flat as n grows tenfold when an update costs time
// linear in the user's state and in the follow-ups the event concerns.
func BenchmarkOneUserUpdate(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{100, 1000, 10_000} {
		b.Run(fmt.Sprint("fanout/followups=", n), func(b *testing.B) {
			e, mem := fanOutEngine(b, fanOut(n), true)
			t0 := time.Now()
			giveReceipts(b, mem, n, t0)
			b.ReportAllocs()
			c := cpuTime()
			for i := 0; b.Loop(); i++ {
				at := t0.Add(time.Duration(i) * time.Second)
				for k, ev := range []event.Event{
					{ID: fmt.Sprint("rcv", i), Kind: event.EmailReceived, CampaignID: "digest", Time: at},
					{ID: fmt.Sprint("again", i), Kind: event.EmailReceived, CampaignID: "digest", Time: at.Add(time.Millisecond)},
					{ID: fmt.Sprint("session", i), Kind: event.SessionStart, Time: at.Add(2 * time.Millisecond)},
				} {
					ev.UserID = crowdUser
					if err := e.Track(ctx, ev); err != nil {
						b.Fatal(err)
					}
					if i == 0 {
						checkPending(b, mem, []int{n, n, 0}[k])
					}
				}
			}
			b.ReportMetric(float64((cpuTime()-c).Nanoseconds())/float64(b.N*n), "cpu-ns/pending")
		})
	}
	for _, n := range []int{100, 1000, 10_000} {
		b.Run(fmt.Sprint("cancel/pending=", n), func(b *testing.B) {
			e, mem := fanOutEngine(b, fanOut(0), true)
			t0 := time.Now()
			var cpu time.Duration
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				pileReminders(b, mem, n, t0)
				c := cpuTime()
				err := e.Track(ctx, event.Event{ID: fmt.Sprint("buy", i), UserID: crowdUser, Kind: event.Purchase, Time: t0.Add(time.Minute)})
				cpu += cpuTime() - c
				if err != nil {
					b.Fatal(err)
				}
				if i == 0 {
					checkPending(b, mem, 0)
				}
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/pending")
		})
	}
}

// checkPending fails unless crowdUser has want pending deliveries.
func checkPending(tb testing.TB, mem *store.Memory, want int) {
	tb.Helper()
	u, err := mem.User(context.Background(), "", crowdUser)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		tb.Fatal(err)
	}
	if len(u.Pending) != want {
		tb.Fatalf("%d pending, want %d", len(u.Pending), want)
	}
}
