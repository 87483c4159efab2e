package otelconnector_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// sendStep is how long every send takes on the tests' stepClock.
const sendStep = 250 * time.Millisecond

// stepClock moves forward by step at every reading, so that each send,
// timed by two readings, takes exactly step.
type stepClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

// env is an engine wired to in-memory OpenTelemetry SDKs.
type env struct {
	t      *testing.T
	tel    *otelconnector.Telemetry
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	h      *connectortest.Harness
}

// newTelemetry builds a Telemetry on fresh SDK providers, timing sends on a
// stepClock; opts come last and may override.
func newTelemetry(t *testing.T, opts ...otelconnector.Option) *env {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() {
		require.NoError(t, mp.Shutdown(context.Background()))
		require.NoError(t, tp.Shutdown(context.Background()))
	})
	base := []otelconnector.Option{
		otelconnector.WithMeterProvider(mp),
		otelconnector.WithTracerProvider(tp),
		otelconnector.WithClock(&stepClock{step: sendStep}),
	}
	tel, err := otelconnector.New(append(base, opts...)...)
	require.NoError(t, err)
	return &env{t: t, tel: tel, tp: tp, reader: reader, spans: spans}
}

// newEnv adds a connectortest harness whose engine is instrumented by the
// Telemetry and observed by its pending gauge.
func newEnv(t *testing.T, opts ...otelconnector.Option) *env {
	t.Helper()
	e := newTelemetry(t, opts...)
	e.h = connectortest.New(t, e.tel.Options()...)
	reg, err := e.tel.ObservePending(e.h.Engine)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Unregister()) })
	return e
}

// collect reads every metric, by name.
func (e *env) collect() map[string]metricdata.Metrics {
	e.t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(e.t, e.reader.Collect(context.Background(), &rm))
	out := make(map[string]metricdata.Metrics)
	for _, sm := range rm.ScopeMetrics {
		require.Equal(e.t, otelconnector.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// key renders an attribute set as "v1/v2/…" in the order of keys, leaving
// out the absent ones: key(set, "decision.kind", "decision.reason") is
// "suppressed/already_pending" or "delivered".
func key(set attribute.Set, keys ...attribute.Key) string {
	var parts []string
	for _, k := range keys {
		if v, ok := set.Value(k); ok {
			parts = append(parts, v.String())
		}
	}
	return strings.Join(parts, "/")
}

// decisionCounts returns the decision counter's values by kind/reason
// (and campaign, when counted). It also checks that no other attribute
// appears.
func (e *env) decisionCounts(ms map[string]metricdata.Metrics) map[string]int64 {
	e.t.Helper()
	m, ok := ms[otelconnector.MetricDecisions]
	require.True(e.t, ok, "no %s metric", otelconnector.MetricDecisions)
	require.Equal(e.t, "{decision}", m.Unit)
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(e.t, ok, "%s is a %T", m.Name, m.Data)
	require.True(e.t, sum.IsMonotonic)
	require.Equal(e.t, metricdata.CumulativeTemporality, sum.Temporality)
	out := make(map[string]int64)
	for _, dp := range sum.DataPoints {
		k := key(dp.Attributes, otelconnector.AttrDecisionKind, otelconnector.AttrDecisionReason, otelconnector.AttrDecisionStage, otelconnector.AttrCampaignID)
		require.Equal(e.t, len(strings.Split(k, "/")), dp.Attributes.Len(), "unexpected attributes %v", dp.Attributes.ToSlice())
		out[k] = dp.Value
	}
	return out
}

// histogram returns the points of histogram name by the values of keys.
func (e *env) histogram(ms map[string]metricdata.Metrics, name string, keys ...attribute.Key) map[string]metricdata.HistogramDataPoint[float64] {
	e.t.Helper()
	m, ok := ms[name]
	if !ok {
		return nil
	}
	require.Equal(e.t, "s", m.Unit)
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(e.t, ok, "%s is a %T", m.Name, m.Data)
	out := make(map[string]metricdata.HistogramDataPoint[float64])
	for _, dp := range h.DataPoints {
		k := key(dp.Attributes, keys...)
		require.Equal(e.t, len(keys), dp.Attributes.Len(), "unexpected attributes %v", dp.Attributes.ToSlice())
		out[k] = dp
	}
	return out
}

// pending returns the pending gauge's points by namespace ("" for none).
func (e *env) pending(ms map[string]metricdata.Metrics) map[string]int64 {
	e.t.Helper()
	m, ok := ms[otelconnector.MetricPendingDeliveries]
	if !ok {
		return nil
	}
	require.Equal(e.t, "{delivery}", m.Unit)
	g, ok := m.Data.(metricdata.Gauge[int64])
	require.True(e.t, ok, "%s is a %T", m.Name, m.Data)
	out := make(map[string]int64)
	for _, dp := range g.DataPoints {
		out[key(dp.Attributes, otelconnector.AttrNamespace)] = dp.Value
	}
	return out
}

// ended returns the ended spans named name, in the order they ended.
func (e *env) ended(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range e.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// attrs returns a span's attributes as plain values.
func attrs(s sdktrace.ReadOnlySpan) map[string]any {
	out := make(map[string]any)
	for _, kv := range s.Attributes() {
		out[string(kv.Key)] = kv.Value.AsInterface()
	}
	return out
}

// sendSpan returns the send span of delivery id's attempt.
func (e *env) sendSpan(id string, attempt int) sdktrace.ReadOnlySpan {
	e.t.Helper()
	for _, s := range e.ended(otelconnector.SpanSend) {
		a := attrs(s)
		if a["delivery.id"] == id && a["delivery.attempt"] == int64(attempt) {
			return s
		}
	}
	e.t.Fatalf("no send span for delivery %s attempt %d", id, attempt)
	return nil
}

// deliveryOf returns the ID of the delivery of campaignID attempted for
// userID.
func (e *env) deliveryOf(userID, campaignID string) string {
	e.t.Helper()
	ids := map[string]bool{}
	for _, d := range e.h.Sender.Attempts() {
		if d.UserID == userID && d.CampaignID == campaignID {
			ids[d.ID] = true
		}
	}
	require.Len(e.t, ids, 1, "attempted deliveries of %q to %q", campaignID, userID)
	for id := range ids {
		return id
	}
	return ""
}

// statuses lists the spans' status codes, sorted.
func statuses(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Status().Code.String())
	}
	sort.Strings(out)
	return out
}
