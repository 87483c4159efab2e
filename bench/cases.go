package main

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/bench/internal/ids"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

var (
	ctx  = context.Background()
	noop = connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	t0   = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
)

// cartFlow is the abandoned-cart flow: the original push, and one
// follow-up 4 hours after it unless the user buys or opens the push; and
// an original nothing listens to, "newsletter" (the events of the
// no-listener cases name it: a campaign the engine does not know would
// be reported as ignored).
func cartFlow() []rule.Campaign {
	return []rule.Campaign{
		{ID: "newsletter"},
		{ID: "abandoned_cart"},
		{ID: "cart_reminder", Reeligibility: rule.ReeligibleAfter(0),
			Triggers:   []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Delay:      rule.After(cartDelay),
			Exceptions: []rule.Exception{{Kind: event.Purchase}, {Kind: event.PushOpened, CampaignID: "abandoned_cart"}}},
	}
}

// cartDelay is the reminder's delay.
const cartDelay = 4 * time.Hour

// campaigns are the abandoned-cart flow and an immediate follow-up,
// "coupon", on push_opened, which the Tick cases send.
func campaigns() []rule.Campaign {
	return append(cartFlow(), rule.Campaign{ID: "coupon", Reeligibility: rule.ReeligibleAfter(0),
		Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "abandoned_cart"}}})
}

// newEngine builds an engine on a fresh memory store holding the flow's
// campaigns, published, plus unrelated follow-ups written to the store
// directly (as if another engine had saved them: building the engine
// reads them once).
func newEngine(tb testing.TB, clk connector.Clock, unrelated int, opts ...connector.Option) (*connector.Engine, *store.Memory) {
	return newEngineSending(tb, clk, unrelated, noop, opts...)
}

func newEngineSending(tb testing.TB, clk connector.Clock, unrelated int, send connector.Sender, opts ...connector.Option) (*connector.Engine, *store.Memory) {
	return newEngineWith(tb, clk, campaigns(), unrelated, send, opts...)
}

// newEngineWith builds an engine on a fresh memory store with flow's
// campaigns saved and published, and unrelated follow-ups as newEngine.
func newEngineWith(tb testing.TB, clk connector.Clock, flow []rule.Campaign, unrelated int, send connector.Sender, opts ...connector.Option) (*connector.Engine, *store.Memory) {
	mem := store.NewMemory()
	for i := range unrelated {
		id := "other" + strconv.Itoa(i)
		for _, c := range []rule.Campaign{{ID: id}, {ID: id + "_f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: id}}}} {
			_, err := mem.UpdateCampaign(ctx, "", c.ID, func(rec *store.CampaignRecord, _ bool) error {
				*rec = store.CampaignRecord{Campaign: c, State: rule.Active, Activation: 1}
				return nil
			})
			if err != nil {
				tb.Fatal(err)
			}
		}
	}
	e, err := connector.New(mem, send, append([]connector.Option{connector.WithClock(clk)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range flow {
		if err := e.Save(ctx, c); err != nil {
			tb.Fatal(err)
		}
	}
	for i := len(flow) - 1; i >= 0; i-- { // the follow-ups first, then their original
		if err := e.Publish(ctx, flow[i].ID); err != nil {
			tb.Fatal(err)
		}
	}
	return e, mem
}

var (
	users64k  = ids.Users("user-", 1<<16)
	events64k = eventIDs(1 << 16)
)

// eventIDs returns n distinct provider event IDs.
func eventIDs(n int) []string {
	src := source{ids: true}
	out := make([]string, n)
	for i := range out {
		out[i] = src.event("", event.SessionStart, "").ID
	}
	return out
}

// purchase is the properties of the cases' purchases, shared: the engine
// keeps none of an exception's.
var purchase = map[string]any{"price": "59.90", "currency": "EUR", "quantity": 1}

func track(b *testing.B, e *connector.Engine, ev event.Event) {
	if err := e.Track(ctx, ev); err != nil {
		b.Fatal(err)
	}
}

// floorEvent is baseline (b): a map insert and a delete per event.
func floorEvent(b *testing.B) {
	m := make(map[string]struct{}, 1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		u := users64k[i&(1<<16-1)]
		m[u] = struct{}{}
		delete(m, u)
	}
}

func trackNoListener(b *testing.B) {
	e, _ := newEngine(b, clock.New(), 0)
	ev := event.Event{Kind: event.EmailOpened, CampaignID: "newsletter"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev.UserID, ev.ID = users64k[i&(1<<16-1)], events64k[i&(1<<16-1)]
		track(b, e, ev)
	}
}

// trackTrigger schedules a delivery for each of b.N users (each trigger
// schedules: no user is already waiting).
func trackTrigger(b *testing.B) { trackScaled(0, 0)(b) }

// trackException cancels b.N pending deliveries, one per user, scheduled
// before the timer starts.
func trackException(b *testing.B) {
	e, _ := newEngine(b, clock.New(), 0)
	users := ids.Users("user-", b.N)
	for i, u := range users {
		track(b, e, event.Event{ID: events64k[i&(1<<16-1)], UserID: u, Kind: event.PushReceived, CampaignID: "abandoned_cart"})
	}
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for i, u := range users {
		track(b, e, event.Event{ID: events64k[(i+1<<15)&(1<<16-1)], UserID: u, Kind: event.Purchase, Name: "sku_48213", Properties: purchase})
	}
}

func trackDuplicate(b *testing.B) {
	e, _ := newEngine(b, clock.New(), 0)
	ev := event.Event{ID: events64k[0], Kind: event.PushReceived, CampaignID: "abandoned_cart"}
	for _, u := range users64k[:1024] {
		ev.UserID = u
		track(b, e, ev)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev.UserID = users64k[i&1023]
		track(b, e, ev)
	}
}

// parallel runs a Track benchmark of events like ev from every P, each on
// its own users: those of pool, as the serial case cycles through them, or,
// with pool nil, b.N distinct users in all (each trigger schedules, each
// exception finds a delivery to cancel). (b.N user IDs where the serial
// case needs none would make the heap, and the collector's work competing
// for the same cores, grow with b.N.) With arm set, every user first
// tracks arm, untimed: the trigger an exception cancels, the event a
// duplicate repeats.
func parallel(ev event.Event, pool []string, arm *event.Event) func(b *testing.B) {
	fixedID := ev.ID != "" // the duplicate case repeats its event's ID; the others carry their own
	return func(b *testing.B) {
		e, _ := newEngine(b, clock.New(), 0)
		users := pool
		if users == nil {
			users = ids.Users("user-", b.N+1024)
		}
		if arm != nil {
			a := *arm
			for i, u := range users {
				a.UserID = u
				if a.ID == "" {
					a.ID = events64k[(i+1<<15)&(1<<16-1)] // not the ID of the event the case tracks
				}
				track(b, e, a)
				a.ID = arm.ID
			}
		}
		var next atomic.Int64
		runtime.GC()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ev := ev
			// Each goroutine takes its users in blocks of 256, so that the
			// shared counter is not a contended cache line per event.
			var i, end int
			for pb.Next() {
				if i == end {
					end = int(next.Add(256))
					i = end - 256
				}
				ev.UserID = users[i%len(users)]
				if !fixedID {
					ev.ID = events64k[i&(1<<16-1)]
				}
				i++
				ev.Time = time.Time{}
				if err := e.Track(ctx, ev); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
}

// The parallel cases: the serial cases' events, from every P.
var (
	noListenerParallel = parallel(event.Event{Kind: event.EmailOpened, CampaignID: "newsletter"}, users64k, nil)
	triggerParallel    = parallel(event.Event{Kind: event.PushReceived, CampaignID: "abandoned_cart"}, nil, nil)
	exceptionParallel  = parallel(event.Event{Kind: event.Purchase, Name: "sku_48213", Properties: purchase}, nil,
		&event.Event{Kind: event.PushReceived, CampaignID: "abandoned_cart"})
	duplicateParallel = parallel(event.Event{ID: events64k[0], Kind: event.PushReceived, CampaignID: "abandoned_cart"}, users64k[:1024],
		&event.Event{ID: events64k[0], Kind: event.PushReceived, CampaignID: "abandoned_cart"})
)

// tickDue sends batches of `due` immediate deliveries with a no-op sender,
// reporting ns and allocations per delivery.
func tickDue(due, concurrency int) func(b *testing.B) {
	return func(b *testing.B) {
		users := ids.Users("user-", due)
		var elapsed time.Duration
		sent := 0
		var allocs uint64
		for b.Loop() {
			b.StopTimer()
			e, _ := newEngine(b, clock.New(), 0, connector.WithSendConcurrency(concurrency))
			src := source{ids: true}
			for _, u := range users {
				track(b, e, src.event(u, event.PushOpened, "abandoned_cart"))
			}
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			b.StartTimer()
			start := time.Now()
			n, err := e.Tick(ctx)
			elapsed += time.Since(start)
			b.StopTimer()
			runtime.ReadMemStats(&m1)
			allocs += m1.Mallocs - m0.Mallocs
			b.StartTimer()
			if err != nil || n != due {
				b.Fatal(n, err)
			}
			sent += n
		}
		b.ReportMetric(float64(elapsed.Nanoseconds())/float64(sent), "ns/delivery")
		b.ReportMetric(float64(sent)/elapsed.Seconds(), "deliveries/s")
		b.ReportMetric(float64(allocs)/float64(sent), "allocs/delivery")
	}
}

// heapAfter returns the live heap after fn, minus the live heap before.
func heapAfter(fn func()) int64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// memoryPerPending schedules n deliveries (one per user, trigger events
// with an ID and no properties) and reports the heap per pending delivery.
// The user and event IDs are allocated beforehand, as a host's decoder
// would; they are counted separately (B/pending+ids).
func memoryPerPending(n int) func(b *testing.B) {
	return func(b *testing.B) {
		var idBytes int64
		users, events := ids.Users("user-", n), eventIDs(n)
		for i := range users {
			idBytes += int64(len(users[i]) + len(events[i]))
		}
		for b.Loop() {
			var e *connector.Engine
			used := heapAfter(func() {
				e, _ = newEngine(b, clock.New(), 0)
				for i, u := range users {
					track(b, e, event.Event{ID: events[i], UserID: u, Kind: event.PushReceived, CampaignID: "abandoned_cart"})
				}
			})
			b.ReportMetric(float64(used)/float64(n), "B/pending")
			b.ReportMetric(float64(used+idBytes)/float64(n), "B/pending+ids")
			runtime.KeepAlive(e)
		}
	}
}

// trackScaled measures a scheduling Track with the engine loaded: extra
// unrelated follow-ups, and `pending` users each waiting for a delivery.
func trackScaled(unrelated, pending int) func(b *testing.B) {
	return trackScaledBatch(unrelated, pending, 0)
}

// trackScaledBatch is trackScaled with the events handed to TrackAll in
// slices of batch (0: Track, one by one).
func trackScaledBatch(unrelated, pending, batch int) func(b *testing.B) {
	return func(b *testing.B) {
		e, _ := newEngine(b, clock.New(), unrelated)
		for i, u := range ids.Users("waiting-", pending) {
			track(b, e, event.Event{ID: events64k[i&(1<<16-1)], UserID: u, Kind: event.PushReceived, CampaignID: "abandoned_cart"})
		}
		users := ids.Users("user-", b.N)
		runtime.GC()
		feed := feeder{e: e, batch: batch}
		b.ReportAllocs()
		b.ResetTimer()
		for i, u := range users {
			feed.track(b, event.Event{ID: events64k[i&(1<<16-1)], UserID: u, Kind: event.PushReceived, CampaignID: "abandoned_cart"})
		}
		feed.flush(b)
	}
}

// timersScaled is trackScaled for baseline (a): timers armed for b.N fresh
// users with `pending` others already armed. Its ratio between sizes is
// what the machine's caches alone cost a hand-written scheduler.
func timersScaled(pending int) func(b *testing.B) {
	return func(b *testing.B) {
		s := newTimerScheduler(func(string) {})
		for _, u := range ids.Users("waiting-", pending) {
			s.schedule(u, "cart_reminder", cartDelay)
		}
		users := ids.Users("user-", b.N)
		runtime.GC()
		b.ReportAllocs()
		b.ResetTimer()
		for _, u := range users {
			s.schedule(u, "cart_reminder", cartDelay)
		}
		b.StopTimer()
		s.stopAll()
	}
}

// pairInCache tracks a trigger then an exception for users taken in turn
// from 1,024, so that everything stays in the caches: the engine's own
// work per event, without the cache misses of a large population.
func pairInCache(b *testing.B) {
	clk := newStepClock(t0)
	e, _ := newEngine(b, clk, 0)
	src := source{ids: true}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		u := users64k[i&1023]
		track(b, e, src.event(u, event.PushReceived, "abandoned_cart"))
		clk.add(time.Microsecond) // an exception cancels only after the trigger
		track(b, e, src.event(u, event.Purchase, ""))
	}
}

// pairInCacheTimers is pairInCache for baseline (a): arm, then stop.
func pairInCacheTimers(b *testing.B) {
	s := newTimerScheduler(func(string) {})
	src := source{ids: true}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		u := users64k[i&1023]
		s.schedule(src.event(u, event.PushReceived, "abandoned_cart").UserID, "cart_reminder", cartDelay)
		s.cancel(src.event(u, event.Purchase, "").UserID, "cart_reminder")
	}
}
