package otelconnector_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// serverClockStore is a memory store with a server clock, as PostgreSQL
// has: the server's time is the engine's mock clock less behind (so the
// engine is ahead of the server by behind), or err when it is set.
type serverClockStore struct {
	*store.Memory
	clk    *clock.Mock
	behind time.Duration
	err    error
}

func (s *serverClockStore) ServerNow(context.Context) (time.Time, error) {
	if s.err != nil {
		return time.Time{}, s.err
	}
	return s.clk.Now().Add(-s.behind), nil
}

var _ store.ServerClock = (*serverClockStore)(nil)

// skewFunc adapts a function to [otelconnector.ClockSkewSource].
type skewFunc func(ctx context.Context) (time.Duration, error)

func (f skewFunc) ClockSkew(ctx context.Context) (time.Duration, error) { return f(ctx) }

// skewEngine returns an engine of namespace ns on st, on clk, registered
// with e's pending gauge and clock skew gauge.
func (e *env) skewEngine(st store.Store, clk *clock.Mock, ns string) {
	e.t.Helper()
	eng, err := connector.New(st, nopSender, append(e.tel.Options(), connector.WithClock(clk), connector.WithNamespace(ns))...)
	require.NoError(e.t, err)
	pending, err := e.tel.ObservePending(eng)
	require.NoError(e.t, err)
	skew, err := e.tel.ObserveClockSkew(eng)
	require.NoError(e.t, err)
	e.t.Cleanup(func() {
		require.NoError(e.t, pending.Unregister())
		require.NoError(e.t, skew.Unregister())
	})
}

// skew returns the clock skew gauge's points by namespace ("" for none),
// or nil when the gauge has none.
func (e *env) skew(ms map[string]metricdata.Metrics) map[string]float64 {
	e.t.Helper()
	m, ok := ms[otelconnector.MetricClockSkew]
	if !ok {
		return nil
	}
	require.Equal(e.t, "s", m.Unit)
	g, ok := m.Data.(metricdata.Gauge[float64])
	require.True(e.t, ok, "%s is a %T", m.Name, m.Data)
	out := make(map[string]float64)
	for _, dp := range g.DataPoints {
		require.LessOrEqual(e.t, dp.Attributes.Len(), 1, "unexpected attributes %v", dp.Attributes.ToSlice())
		out[key(dp.Attributes, otelconnector.AttrNamespace)] = dp.Value
	}
	return out
}

// The gauge reports how far each engine's clock is ahead of its store's
// server clock, in seconds, read again at each collection.
func TestClockSkewGauge(t *testing.T) {
	var log errorLog
	e := newTelemetry(t, otelconnector.WithErrorHandler(log.handle))
	clk := clock.NewMock()
	st := &serverClockStore{Memory: store.NewMemory(), clk: clk, behind: 1500 * time.Millisecond}
	e.skewEngine(st, clk, "")
	e.skewEngine(st, clk, "tenant-a")
	require.Equal(t, map[string]float64{"": 1.5, "tenant-a": 1.5}, e.skew(e.collect()))

	st.behind = -20 * time.Second // the engine's clock is behind the server's
	require.Equal(t, map[string]float64{"": -20, "tenant-a": -20}, e.skew(e.collect()))
	require.Empty(t, log.all())
}

// A store without a server clock has no gauge, and no collection reports
// an error for it.
func TestClockSkewGaugeWithoutServerClock(t *testing.T) {
	var log errorLog
	e := newTelemetry(t, otelconnector.WithErrorHandler(log.handle))
	e.skewEngine(store.NewMemory(), clock.NewMock(), "")
	for range 2 {
		ms := e.collect()
		_, ok := ms[otelconnector.MetricClockSkew]
		require.False(t, ok, "no gauge without a server clock")
		require.Equal(t, map[string]int64{"": 0}, e.pending(ms), "the pending gauge is there")
	}
	require.Empty(t, log.all())
}

// A failed reading records nothing for the gauge, goes to the error
// handler, and leaves the other metrics' collection alone; so does a
// panic of the source.
func TestClockSkewGaugeReadingFails(t *testing.T) {
	var log errorLog
	e := newTelemetry(t, otelconnector.WithErrorHandler(log.handle))
	clk := clock.NewMock()
	down := errors.New("server down")
	st := &serverClockStore{Memory: store.NewMemory(), clk: clk, err: down}
	e.skewEngine(st, clk, "")
	reg, err := e.tel.ObserveClockSkew(skewFunc(func(context.Context) (time.Duration, error) { panic("clock gone") }))
	require.NoError(t, err)
	defer func() { require.NoError(t, reg.Unregister()) }()
	e.tel.Observe(rule.Decision{Kind: rule.Scheduled, CampaignID: "resend"})

	var ms map[string]metricdata.Metrics
	require.NotPanics(t, func() { ms = e.collect() })
	require.Nil(t, e.skew(ms), "no observation")
	require.Equal(t, map[string]int64{"": 0}, e.pending(ms), "the other metrics are exported")
	require.Equal(t, map[string]int64{"scheduled": 1}, e.decisionCounts(ms))
	errs := log.all()
	require.Len(t, errs, 2)
	var msgs []string
	for _, err := range errs {
		msgs = append(msgs, err.Error())
	}
	require.True(t, errors.Is(errs[0], down) || errors.Is(errs[1], down), "the store's error is wrapped: %v", errs)
	require.ElementsMatch(t, []string{
		"otelconnector: reading the clock skew: server down",
		"otelconnector: reading the clock skew: panic: clock gone",
	}, msgs)

	st.err = nil // the server answers again
	require.Equal(t, map[string]float64{"": 0}, e.skew(e.collect()))
}

// A server clock out of reach does not hold the collection past the
// stats timeout.
func TestClockSkewGaugeHungServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log errorLog
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
		tel, err := otelconnector.New(otelconnector.WithMeterProvider(mp),
			otelconnector.WithTracerProvider(tracenoop.NewTracerProvider()),
			otelconnector.WithErrorHandler(log.handle),
			otelconnector.WithStatsTimeout(2*time.Second))
		require.NoError(t, err)
		e := &env{t: t, tel: tel, reader: reader}
		reg, err := tel.ObserveClockSkew(skewFunc(func(ctx context.Context) (time.Duration, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		}))
		require.NoError(t, err)
		defer func() { require.NoError(t, reg.Unregister()) }()

		start := time.Now()
		ms := e.collect()
		require.Equal(t, 2*time.Second, time.Since(start), "the collection waits for the stats timeout")
		require.Nil(t, e.skew(ms))
		errs := log.all()
		require.Len(t, errs, 1)
		require.ErrorIs(t, errs[0], context.DeadlineExceeded)
	})
}
