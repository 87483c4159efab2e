package connector_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

var noop = connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })

// benchEngine is an engine on a memory store with the abandoned-cart
// campaigns, an original "newsletter" nothing listens to, and n extra
// unrelated follow-ups.
func benchEngine(b *testing.B, unrelated int, opts ...connector.Option) (*connector.Engine, *clock.Mock, *store.Memory) {
	b.Helper()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
	e, mem := benchEngineOn(b, clk, unrelated, opts...)
	return e, clk, mem
}

// benchEngineOn is benchEngine on any clock (the system clock for
// benchmarks run from several goroutines: the mock's lock would be
// measured), with an immediate follow-up, "coupon", on push_opened of
// "abandoned_cart".
func benchEngineOn(b *testing.B, clk connector.Clock, unrelated int, opts ...connector.Option) (*connector.Engine, *store.Memory) {
	b.Helper()
	mem := store.NewMemory()
	e, err := connector.New(mem, noop, append([]connector.Option{connector.WithClock(clk)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	push, reminder := abandonedCart()
	reminder.Reeligibility = rule.ReeligibleAfter(0)
	coupon := rule.Campaign{ID: "coupon", Reeligibility: rule.ReeligibleAfter(0),
		Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "abandoned_cart"}}}
	for _, c := range []rule.Campaign{push, reminder, coupon, {ID: "newsletter"}} {
		if err := e.Save(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	for i := range unrelated {
		id := "other" + strconv.Itoa(i)
		if err := e.Save(ctx, rule.Campaign{ID: id}); err != nil {
			b.Fatal(err)
		}
		if err := e.Save(ctx, rule.Campaign{ID: id + "_f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: id}}}); err != nil {
			b.Fatal(err)
		}
		if err := e.Publish(ctx, id+"_f"); err != nil {
			b.Fatal(err)
		}
		if err := e.Publish(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	for _, id := range []string{"cart_reminder", "coupon", "abandoned_cart"} {
		if err := e.Publish(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	return e, mem
}

// userIDs are precomputed so that formatting them is not measured.
func userIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "user-" + strconv.Itoa(i)
	}
	return ids
}

func BenchmarkTrack(b *testing.B) {
	ctx := context.Background()
	users := userIDs(1 << 16)
	b.Run("no_listener", func(b *testing.B) {
		e, _, _ := benchEngine(b, 0)
		ev := event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "newsletter"}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ev.UserID = users[i&(len(users)-1)]
			if err := e.Track(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("trigger_schedules", func(b *testing.B) {
		e, _, _ := benchEngine(b, 0, connector.WithDedupWindow(time.Hour))
		ev := event.Event{Kind: event.PushReceived, CampaignID: "abandoned_cart"}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ev.UserID = users[i&(len(users)-1)]
			if err := e.Track(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("exception_cancels", func(b *testing.B) {
		e, clk, mem := benchEngine(b, 0)
		rcv := event.Event{Kind: event.PushReceived, CampaignID: "abandoned_cart"}
		buy := event.Event{Kind: event.Purchase}
		at := clk.Now().Add(time.Microsecond) // the mock clock stays put: triggers are at Now
		for i := range users {
			rcv.UserID = users[i]
			_ = e.Track(ctx, rcv)
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			u := users[i&(len(users)-1)]
			b.StopTimer()
			rcv.UserID = u
			_ = e.Track(ctx, rcv) // re-arm (not measured)
			b.StartTimer()
			buy.UserID = u
			buy.Time = at // after the trigger, before the due time
			if err := e.Track(ctx, buy); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if _, err := mem.User(ctx, "", buy.UserID); !errors.Is(err, store.ErrNotFound) {
			b.Fatalf("the last exception cancelled nothing (%v)", err)
		}
	})
	b.Run("unknown_campaign", func(b *testing.B) {
		e, _, _ := benchEngine(b, 0)
		ev := event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "newsleter"}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ev.UserID = users[i&(len(users)-1)]
			if err := e.Track(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("duplicate", func(b *testing.B) {
		e, _, _ := benchEngine(b, 0)
		ev := event.Event{ID: "same", UserID: "u", Kind: event.PushReceived, CampaignID: "abandoned_cart"}
		_ = e.Track(ctx, ev)
		b.ReportAllocs()
		for b.Loop() {
			if err := e.Track(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("no_listener_parallel", func(b *testing.B) {
		e, _, _ := benchEngine(b, 0)
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ev := event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "newsletter"}
			i := int(next.Add(1)) << 12
			for pb.Next() {
				i++
				ev.UserID = users[i&(len(users)-1)]
				_ = e.Track(ctx, ev)
			}
		})
	})
	b.Run("trigger_schedules_parallel", func(b *testing.B) {
		e, _, _ := benchEngine(b, 0)
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ev := event.Event{Kind: event.PushReceived, CampaignID: "abandoned_cart"}
			i := int(next.Add(1)) << 12
			for pb.Next() {
				i++
				ev.UserID = users[i&(len(users)-1)]
				_ = e.Track(ctx, ev)
			}
		})
	})
	// Every user's delivery armed, then each goroutine cancels and re-arms
	// the deliveries of its own users: one op is a cancellation plus a
	// trigger (RunParallel cannot stop the timer per goroutine).
	b.Run("exception_then_trigger_parallel", func(b *testing.B) {
		e, _ := benchEngineOn(b, clock.New(), 0) // events after the trigger: exceptions cancel
		for _, u := range users {
			_ = e.Track(ctx, event.Event{UserID: u, Kind: event.PushReceived, CampaignID: "abandoned_cart"})
		}
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			rcv := event.Event{Kind: event.PushReceived, CampaignID: "abandoned_cart"}
			buy := event.Event{Kind: event.Purchase}
			g := int(next.Add(1)) // goroutines start 1,024 users apart
			for i := g << 10; pb.Next(); i++ {
				u := users[i&(len(users)-1)]
				buy.UserID, buy.Time = u, time.Time{}
				if err := e.Track(ctx, buy); err != nil {
					b.Error(err)
					return
				}
				rcv.UserID, rcv.Time = u, time.Time{}
				_ = e.Track(ctx, rcv)
			}
		})
	})
	b.Run("duplicate_parallel", func(b *testing.B) {
		e, _, _ := benchEngine(b, 0)
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			// Each goroutine repeats an event of its own user.
			ev := event.Event{ID: "same", UserID: fmt.Sprint("dup-", next.Add(1)), Kind: event.PushReceived, CampaignID: "abandoned_cart"}
			_ = e.Track(ctx, ev)
			for pb.Next() {
				if err := e.Track(ctx, ev); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkTickPerDelivery sends b.N due deliveries with one Tick (claimed
// in batches of the engine's batch size) with a no-op sender, on the
// system clock, sequentially and with the default send concurrency.
func BenchmarkTickPerDelivery(b *testing.B) {
	for _, conc := range []int{1, 4} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			ctx := context.Background()
			e, _ := benchEngineOn(b, clock.New(), 0, connector.WithSendConcurrency(conc))
			users := userIDs(b.N)
			for _, u := range users {
				if err := e.Track(ctx, event.Event{UserID: u, Kind: event.PushOpened, CampaignID: "abandoned_cart"}); err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			n, err := e.Tick(ctx)
			if err != nil || n != b.N {
				b.Fatal(n, err)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
