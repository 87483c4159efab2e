package connector_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/event"
)

// BenchmarkTickDefaultConcurrency is BenchmarkTickPerDelivery with the
// engine's default send concurrency.
func BenchmarkTickDefaultConcurrency(b *testing.B) {
	ctx := context.Background()
	e, _ := benchEngineOn(b, clock.New(), 0)
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
}
