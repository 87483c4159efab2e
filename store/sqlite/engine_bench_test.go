package sqlite_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// benchEngine returns an engine on a SQLite store with the
// abandoned-cart reminder published, on a mock clock, and a count of the
// deliveries it sent.
func benchEngine(b *testing.B) (*connector.Engine, *clock.Mock, *int64) {
	s := openStore(b, testPath(b))
	clk := clock.NewMock()
	clk.Set(t0)
	var sent int64
	e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { sent++; return nil }),
		connector.WithClock(clk), connector.WithSendConcurrency(1))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []rule.Campaign{{ID: "abandoned_cart"}, {ID: "cart_reminder",
		Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
		Delay:    rule.After(time.Hour), Exceptions: []rule.Exception{{Kind: event.Purchase}}}} {
		if err := e.Save(ctx, c); err != nil {
			b.Fatal(err)
		}
		if err := e.Publish(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
	}
	return e, clk, &sent
}

func cartEvent(i int) event.Event {
	return event.Event{ID: fmt.Sprint("e", i), UserID: fmt.Sprint("u", i), Kind: event.PushReceived, CampaignID: "abandoned_cart",
		Properties: map[string]any{"cart": 3}}
}

// TrackAll of triggers, 1,000 a call, each scheduling a reminder: one op
// is one event.
func BenchmarkEngineTrackAll(b *testing.B) {
	e, _, _ := benchEngine(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	for i := 0; i < b.N; i += 1000 {
		evs := make([]event.Event, 0, 1000)
		for j := i; j < min(b.N, i+1000); j++ {
			evs = append(evs, cartEvent(j))
		}
		if err := e.TrackAll(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
}

// Tick sending due reminders: one op is one delivery.
func BenchmarkEngineTick(b *testing.B) {
	e, clk, sent := benchEngine(b)
	ctx := context.Background()
	for i := 0; i < b.N; i += 1000 {
		evs := make([]event.Event, 0, 1000)
		for j := i; j < min(b.N, i+1000); j++ {
			evs = append(evs, cartEvent(j))
		}
		if err := e.TrackAll(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	clk.Add(2 * time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	for *sent < int64(b.N) {
		if _, err := e.Tick(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op since began: on a shared machine
// the elapsed time per op also counts the time others had the CPUs.
func reportCPU(b *testing.B, began time.Duration) {
	b.ReportMetric(float64(cpuTime()-began)/float64(b.N)/1e3, "cpu-µs/op")
}
