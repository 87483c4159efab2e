package otelconnector_test

import (
	"context"
	"fmt"
	"log"
	"sort"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// A host installs the telemetry on its engine and registers the engine for
// the pending-deliveries gauge, the event counters and the clock skew
// gauge (which the memory store, without a server clock, does not have).
// Here the SDK's manual reader shows what an exporter would receive; a
// real host would configure a periodic reader with an OTLP exporter
// instead.
func Example() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(ctx)

	tel, err := otelconnector.New(
		otelconnector.WithMeterProvider(mp),
		otelconnector.WithTracerProvider(tp),
	)
	if err != nil {
		log.Fatal(err)
	}
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC))
	sender := connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
		return nil // hand d to the mail provider, with ctx: it carries the send span
	})
	engine, err := connector.New(store.NewMemory(), sender,
		append(tel.Options(), connector.WithClock(clk))...)
	if err != nil {
		log.Fatal(err)
	}
	reg, err := tel.ObservePending(engine)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()
	events, err := tel.ObserveEvents(engine)
	if err != nil {
		log.Fatal(err)
	}
	defer events.Unregister()
	skew, err := tel.ObserveClockSkew(engine)
	if err != nil {
		log.Fatal(err)
	}
	defer skew.Unregister()

	must(engine.Save(ctx, rule.Campaign{ID: "newsletter"}))
	must(engine.Save(ctx, rule.Campaign{
		ID:       "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:    rule.After(24 * time.Hour),
	}))
	must(engine.Publish(ctx, "resend"))
	must(engine.Publish(ctx, "newsletter"))
	must(engine.Track(ctx, event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}))
	printMetrics(reader)

	clk.Add(24 * time.Hour)
	if _, err := engine.Tick(ctx); err != nil {
		log.Fatal(err)
	}
	printMetrics(reader)
	// Output:
	// campaignconnector.decisions{decision.kind=scheduled} 1
	// campaignconnector.events.duplicate 0
	// campaignconnector.events.tracked 1
	// campaignconnector.events.unheard 0
	// campaignconnector.pending_deliveries 1
	// campaignconnector.decisions{decision.kind=delivered} 1
	// campaignconnector.decisions{decision.kind=scheduled} 1
	// campaignconnector.delivery.lag count=1 sum=0s
	// campaignconnector.events.duplicate 0
	// campaignconnector.events.tracked 1
	// campaignconnector.events.unheard 0
	// campaignconnector.pending_deliveries 0
	// campaignconnector.send.duration{outcome=ok} count=1
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// printMetrics prints the collected metrics, one data point a line, in
// order (send durations depend on the system clock: only their count is
// shown).
func printMetrics(reader *sdkmetric.ManualReader) {
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					lines = append(lines, fmt.Sprintf("%s%s %d", m.Name, labels(dp.Attributes.ToSlice()), dp.Value))
				}
			case metricdata.Gauge[int64]:
				for _, dp := range data.DataPoints {
					lines = append(lines, fmt.Sprintf("%s%s %d", m.Name, labels(dp.Attributes.ToSlice()), dp.Value))
				}
			case metricdata.Gauge[float64]:
				for _, dp := range data.DataPoints {
					lines = append(lines, fmt.Sprintf("%s%s %g", m.Name, labels(dp.Attributes.ToSlice()), dp.Value))
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					line := fmt.Sprintf("%s%s count=%d", m.Name, labels(dp.Attributes.ToSlice()), dp.Count)
					if m.Name == otelconnector.MetricDeliveryLag {
						line += fmt.Sprintf(" sum=%gs", dp.Sum)
					}
					lines = append(lines, line)
				}
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
}

// labels renders attributes as {k=v,…}.
func labels(kvs []attribute.KeyValue) string {
	if len(kvs) == 0 {
		return ""
	}
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = string(kv.Key) + "=" + kv.Value.String()
	}
	return "{" + strings.Join(parts, ",") + "}"
}
