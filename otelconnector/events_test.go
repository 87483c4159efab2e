package otelconnector_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// counter returns observable counter name's points by namespace ("" for
// none), checking its unit.
func (e *env) counter(ms map[string]metricdata.Metrics, name, unit string) map[string]int64 {
	e.t.Helper()
	m, ok := ms[name]
	if !ok {
		return nil
	}
	require.Equal(e.t, unit, m.Unit)
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(e.t, ok, "%s is a %T", m.Name, m.Data)
	require.True(e.t, sum.IsMonotonic)
	out := make(map[string]int64)
	for _, dp := range sum.DataPoints {
		out[key(dp.Attributes, otelconnector.AttrNamespace)] = dp.Value
	}
	return out
}

func TestEventCounters(t *testing.T) {
	e := newEnv(t)
	reg, err := e.tel.ObserveEvents(e.h.Engine)
	require.NoError(t, err)
	newsletter, followUp := resend()
	e.h.Save(newsletter, followUp)
	e.h.Publish("resend", "newsletter")
	rcv := event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}
	e.h.Track(rcv, rcv,
		event.Event{UserID: "ann", Kind: event.Purchase},
		event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsleter"})

	ms := e.collect()
	require.Equal(t, map[string]int64{"": 4}, e.counter(ms, otelconnector.MetricEventsTracked, "{event}"))
	require.Equal(t, map[string]int64{"": 1}, e.counter(ms, otelconnector.MetricEventsUnheard, "{event}"))
	require.Equal(t, map[string]int64{"": 1}, e.counter(ms, otelconnector.MetricEventsDuplicate, "{event}"))
	require.Equal(t, int64(1), e.decisionCounts(ms)["ignored/unknown_campaign"], "ignored events are decisions")

	require.NoError(t, reg.Unregister())
	require.Nil(t, e.counter(e.collect(), otelconnector.MetricEventsTracked, "{event}"))
}

func TestEventCountersOfSeveralEngines(t *testing.T) {
	e := newTelemetry(t)
	st := store.NewMemory()
	ctx := context.Background()
	for _, ns := range []string{"", "tenant-a", "tenant-a"} { // two engines of tenant-a add up
		eng, err := connector.New(st, nopSender, append(e.tel.Options(), connector.WithNamespace(ns))...)
		require.NoError(t, err)
		reg, err := e.tel.ObserveEvents(eng)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, reg.Unregister()) })
		require.NoError(t, eng.Track(ctx, event.Event{UserID: "ann", Kind: event.Purchase}))
	}
	require.Equal(t, map[string]int64{"": 1, "tenant-a": 2}, e.counter(e.collect(), otelconnector.MetricEventsTracked, "{event}"))
	_, err := e.tel.ObserveEvents(nil)
	require.ErrorIs(t, err, otelconnector.ErrNilSource)
}

// TestDecisionsOfSeveralNamespaces: engines of several namespaces sharing
// one Telemetry count their decisions and delivery lags apart; the
// default namespace's carry no namespace attribute.
func TestDecisionsOfSeveralNamespaces(t *testing.T) {
	e := newTelemetry(t)
	st := store.NewMemory()
	ctx := context.Background()
	clk := clock.NewMock()
	for i, ns := range []string{"", "tenant-a", "tenant-b", "tenant-b"} { // two engines of tenant-b add up
		eng, err := connector.New(st, nopSender, append(e.tel.Options(), connector.WithNamespace(ns), connector.WithClock(clk))...)
		require.NoError(t, err)
		require.NoError(t, eng.Apply(ctx, []rule.Campaign{{ID: "news"}, {ID: "resend",
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}}, Delay: rule.After(time.Minute)}}))
		require.NoError(t, eng.Track(ctx, event.Event{UserID: fmt.Sprint("user-", i), Kind: event.EmailReceived, CampaignID: "news"}))
		clk.Add(2 * time.Minute)
		_, err = eng.Tick(ctx)
		require.NoError(t, err)
	}
	ms := e.collect()
	scheduled := map[string]int64{}
	for _, dp := range ms[otelconnector.MetricDecisions].Data.(metricdata.Sum[int64]).DataPoints {
		if k, _ := dp.Attributes.Value(otelconnector.AttrDecisionKind); k.AsString() == string(rule.Scheduled) {
			ns, _ := dp.Attributes.Value(otelconnector.AttrNamespace)
			scheduled[ns.AsString()] = dp.Value
		}
	}
	require.Equal(t, map[string]int64{"": 1, "tenant-a": 1, "tenant-b": 2}, scheduled)
	lags := map[string]uint64{}
	for _, dp := range ms[otelconnector.MetricDeliveryLag].Data.(metricdata.Histogram[float64]).DataPoints {
		ns, _ := dp.Attributes.Value(otelconnector.AttrNamespace)
		lags[ns.AsString()] = dp.Count
	}
	require.Equal(t, map[string]uint64{"": 1, "tenant-a": 1, "tenant-b": 2}, lags)
}

// A counter must not go down while it is exported: a back end reads a
// drop as a reset and adds the whole new value to its rate. When one of
// two engines of a namespace goes away, or cannot be read, the
// namespace's sums keep what it counted.
func TestEventCountersNeverGoDown(t *testing.T) {
	var panicking atomic.Bool
	counts := func(tracked int64) countsFunc {
		return func() store.EventCounts {
			if panicking.Load() && tracked == 5 {
				panic("counts gone")
			}
			return store.EventCounts{Tracked: tracked, Unheard: tracked - 1, Duplicates: 1}
		}
	}
	var handled atomic.Int64
	e := newTelemetry(t, otelconnector.WithErrorHandler(func(error) { handled.Add(1) }))
	stays, err := e.tel.ObserveEvents(namespaced{counts(100), "tenant-a"})
	require.NoError(t, err)
	leaves, err := e.tel.ObserveEvents(namespaced{counts(5), "tenant-a"})
	require.NoError(t, err)
	other, err := e.tel.ObserveEvents(counts(7))
	require.NoError(t, err)

	tracked := func() map[string]int64 {
		return e.counter(e.collect(), otelconnector.MetricEventsTracked, "{event}")
	}
	require.Equal(t, map[string]int64{"": 7, "tenant-a": 105}, tracked())

	panicking.Store(true)
	require.Equal(t, map[string]int64{"": 7}, tracked(), "a namespace whose sum cannot be read is left out, not reported lower")
	require.Equal(t, int64(1), handled.Load())
	panicking.Store(false)

	require.NoError(t, leaves.Unregister())
	require.NoError(t, leaves.Unregister(), "idempotent")
	ms := e.collect()
	require.Equal(t, map[string]int64{"": 7, "tenant-a": 105}, e.counter(ms, otelconnector.MetricEventsTracked, "{event}"))
	require.Equal(t, map[string]int64{"": 6, "tenant-a": 103}, e.counter(ms, otelconnector.MetricEventsUnheard, "{event}"))
	require.Equal(t, map[string]int64{"": 1, "tenant-a": 2}, e.counter(ms, otelconnector.MetricEventsDuplicate, "{event}"))

	// The last engine of a namespace takes its series with it.
	require.NoError(t, stays.Unregister())
	require.Equal(t, map[string]int64{"": 7}, tracked())
	require.NoError(t, other.Unregister())
	require.Nil(t, tracked())
}

// namespaced is an event counts source of namespace ns.
type namespaced struct {
	countsFunc
	ns string
}

func (n namespaced) Namespace() string { return n.ns }

// An engine registered twice (two parts of a host each registering it) is
// counted once, and stays counted, once, until its last registration goes.
func TestAnEngineRegisteredTwiceIsCountedOnce(t *testing.T) {
	e := newTelemetry(t)
	src := &fixedCounts{ns: "tenant-a", c: store.EventCounts{Tracked: 10}}
	first, err := e.tel.ObserveEvents(src)
	require.NoError(t, err)
	second, err := e.tel.ObserveEvents(src)
	require.NoError(t, err)
	other, err := e.tel.ObserveEvents(&fixedCounts{ns: "tenant-a", c: store.EventCounts{Tracked: 1}})
	require.NoError(t, err)
	tracked := func() map[string]int64 {
		return e.counter(e.collect(), otelconnector.MetricEventsTracked, "{event}")
	}
	require.Equal(t, map[string]int64{"tenant-a": 11}, tracked())
	require.NoError(t, first.Unregister())
	src.c.Tracked = 12
	require.Equal(t, map[string]int64{"tenant-a": 13}, tracked(), "still registered once: read, not retired")
	require.NoError(t, second.Unregister())
	require.Equal(t, map[string]int64{"tenant-a": 13}, tracked(), "gone: its last counts stay in the sum")
	require.NoError(t, other.Unregister())
	require.Nil(t, tracked())
}

// fixedCounts is a comparable event counts source.
type fixedCounts struct {
	ns string
	c  store.EventCounts
}

func (f *fixedCounts) Namespace() string              { return f.ns }
func (f *fixedCounts) EventCounts() store.EventCounts { return f.c }
