package connector_test

import (
	"context"
	"syscall"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
)

// BenchmarkTrackClock measures Track on the abandoned-cart campaigns with
// the engine's default clock ("system", [connector.SystemClock]) and with
// clock.New() ("plain", time.Now), case by case, so that one run compares
// them.
func BenchmarkTrackClock(b *testing.B) {
	ctx := context.Background()
	users := userIDs(1 << 16)
	clocks := []struct {
		name string
		new  func() connector.Clock
	}{
		{"system", connector.SystemClock},
		{"plain", func() connector.Clock { return clock.New() }},
	}
	cases := []struct {
		name string
		op   func(b *testing.B, e *connector.Engine, i int)
	}{
		{"no_listener", func(b *testing.B, e *connector.Engine, i int) {
			track(b, e, event.Event{UserID: users[i&(len(users)-1)], Kind: event.EmailOpened, CampaignID: "newsletter"})
		}},
		{"trigger_schedules", func(b *testing.B, e *connector.Engine, i int) {
			track(b, e, event.Event{UserID: users[i&(len(users)-1)], Kind: event.PushReceived, CampaignID: "abandoned_cart"})
		}},
		{"exception_then_trigger", func(b *testing.B, e *connector.Engine, i int) {
			u := users[i&(len(users)-1)]
			track(b, e, event.Event{UserID: u, Kind: event.Purchase})
			track(b, e, event.Event{UserID: u, Kind: event.PushReceived, CampaignID: "abandoned_cart"})
		}},
		{"duplicate", func(b *testing.B, e *connector.Engine, _ int) {
			track(b, e, event.Event{ID: "same", UserID: "u", Kind: event.PushReceived, CampaignID: "abandoned_cart"})
		}},
	}
	for _, c := range cases {
		for _, clk := range clocks {
			b.Run(c.name+"/"+clk.name, func(b *testing.B) {
				e, _ := benchEngineOn(b, clk.new(), 0)
				for i := range users { // every user's reminder armed, one duplicate remembered
					_ = e.Track(ctx, event.Event{UserID: users[i], Kind: event.PushReceived, CampaignID: "abandoned_cart"})
				}
				_ = e.Track(ctx, event.Event{ID: "same", UserID: "u", Kind: event.PushReceived, CampaignID: "abandoned_cart"})
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cpuTime()
				n := 0
				for i := 0; b.Loop(); i++ {
					c.op(b, e, i)
					n++
				}
				b.ReportMetric(float64(cpuTime()-cpu)/float64(n), "cpu-ns/op")
			})
		}
	}
}

// cpuTime returns the CPU time the process has used, in nanoseconds: on
// a machine other work shares, it varies less than the elapsed time.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func track(b *testing.B, e *connector.Engine, ev event.Event) {
	if err := e.Track(context.Background(), ev); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkClockNow measures one reading of each clock.
func BenchmarkClockNow(b *testing.B) {
	for _, c := range []struct {
		name string
		clk  connector.Clock
	}{{"system", connector.SystemClock()}, {"plain", clock.New()}} {
		b.Run(c.name, func(b *testing.B) {
			cpu := cpuTime()
			n := 0
			for b.Loop() {
				_ = c.clk.Now()
				n++
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(n), "cpu-ns/op")
		})
	}
}
