package otelconnector_test

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestZeroTelemetryUsesTheGlobalProviders: a Telemetry that New did not
// build (a zero value, a field of the host's struct) creates its
// instruments on the global providers at its first use, as New() would,
// instead of panicking in the engine's calls. The other tests pass their
// providers to New, so setting the global ones here changes nothing for
// them.
func TestZeroTelemetryUsesTheGlobalProviders(t *testing.T) {
	e := &env{t: t, reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader)))
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans)))

	var tel otelconnector.Telemetry
	h := connectortest.New(t, tel.Options()...)
	reg, err := tel.ObservePending(h.Engine)
	require.NoError(t, err)
	defer func() { require.NoError(t, reg.Unregister()) }()
	h.Save(resend())
	h.Publish("resend", "newsletter")
	h.Track(received("ann"), received("bob"))
	require.Equal(t, 2, h.Advance(time.Hour))

	ms := e.collect()
	require.Equal(t, map[string]int64{"scheduled": 2, "delivered": 2}, e.decisionCounts(ms))
	require.Equal(t, map[string]int64{"": 0}, e.pending(ms))
	require.Len(t, e.ended(otelconnector.SpanSend), 2)
	require.Len(t, e.ended(otelconnector.SpanTrack), 2)
}
