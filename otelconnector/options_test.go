package otelconnector_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opt := range map[string]otelconnector.Option{
		"nil option":          nil,
		"nil meter provider":  otelconnector.WithMeterProvider(nil),
		"nil tracer provider": otelconnector.WithTracerProvider(nil),
		"empty hash key":      otelconnector.WithUserHash(nil),
		"nil clock":           otelconnector.WithClock(nil),
		"nil error handler":   otelconnector.WithErrorHandler(nil),
	} {
		t.Run(name, func(t *testing.T) {
			tel, err := otelconnector.New(opt)
			require.ErrorIs(t, err, otelconnector.ErrInvalidOption)
			require.Nil(t, tel)
		})
	}
	t.Run("no option uses the global providers", func(t *testing.T) {
		tel, err := otelconnector.New()
		require.NoError(t, err)
		_, err = connector.New(store.NewMemory(), nopSender, tel.Options()...)
		require.NoError(t, err)
	})
}

func TestUserAttributes(t *testing.T) {
	key := []byte("k3y")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("ann"))
	annHash := hex.EncodeToString(mac.Sum(nil)[:16])
	require.Equal(t, annHash, otelconnector.HashUserID(key, "ann"))
	require.NotEqual(t, annHash, otelconnector.HashUserID([]byte("other"), "ann"), "the key matters")

	for _, tc := range []struct {
		name string
		opts []otelconnector.Option
		want map[string]any // user attributes on every span
	}{
		{"no user attribute by default", nil, map[string]any{}},
		{"WithUserID records the ID", []otelconnector.Option{otelconnector.WithUserID()}, map[string]any{"user.id": "ann"}},
		{"WithUserHash records a keyed hash", []otelconnector.Option{otelconnector.WithUserHash(key)}, map[string]any{"user.hash": annHash}},
		{"both", []otelconnector.Option{otelconnector.WithUserHash(key), otelconnector.WithUserID()},
			map[string]any{"user.id": "ann", "user.hash": annHash}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			e.h.Save(resend())
			e.h.Publish("resend", "newsletter")
			e.h.Track(received("ann"))
			require.Equal(t, 1, e.h.Advance(time.Hour))
			spans := e.spans.Ended()
			require.Len(t, spans, 2, "one Track, one send")
			for _, s := range spans {
				got := map[string]any{}
				for k, v := range attrs(s) {
					if k == "user.id" || k == "user.hash" {
						got[k] = v
					}
				}
				require.Equal(t, tc.want, got, s.Name())
			}
		})
	}
}

func TestCampaignAttribute(t *testing.T) {
	e := newEnv(t, otelconnector.WithCampaignAttribute())
	e.h.Save(resend())
	e.h.Publish("resend", "newsletter")
	e.h.Track(received("ann"), received("ann"))
	e.h.Sender.Fail = func(d connector.Delivery) error {
		if d.Attempt == 1 {
			return errMailboxFull
		}
		return nil
	}
	require.Equal(t, 1, e.h.Advance(2*time.Hour))

	ms := e.collect()
	require.Equal(t, map[string]int64{
		"scheduled/resend":                  1,
		"suppressed/already_pending/resend": 1,
		"retried/send_error/resend":         1,
		"delivered/resend":                  1,
	}, e.decisionCounts(ms))
	sends := e.histogram(ms, otelconnector.MetricSendDuration, otelconnector.AttrOutcome, otelconnector.AttrCampaignID)
	require.Len(t, sends, 2)
	require.Equal(t, uint64(1), sends["error/resend"].Count)
	require.Equal(t, uint64(1), sends["ok/resend"].Count)
	lag := e.histogram(ms, otelconnector.MetricDeliveryLag, otelconnector.AttrCampaignID)
	require.Len(t, lag, 1)
	require.Equal(t, uint64(1), lag["resend"].Count)
	require.Equal(t, 60.0, lag["resend"].Sum)
}

// The campaign ID of an event naming an unknown campaign is whatever the
// event's author wrote: with WithCampaignAttribute, it must not become a
// series, or invented IDs would push the real campaigns' series past the
// SDK's cardinality limit (2,000 by default) into the overflow series.
func TestCampaignAttributeLeavesOutUnknownCampaigns(t *testing.T) {
	e := newEnv(t, otelconnector.WithCampaignAttribute())
	e.h.Save(resend())
	e.h.Publish("resend", "newsletter")
	const invented = 2100
	for i := range invented {
		e.h.Track(event.Event{UserID: "mallory", Kind: event.EmailOpened, CampaignID: fmt.Sprintf("invented-%d", i)})
	}
	e.h.Track(received("ann"))
	require.Equal(t, 1, e.h.Advance(time.Hour))
	// A warning of reason unknown_campaign is about a campaign the engine
	// knows (one naming a missing campaign): it keeps its campaign.id.
	e.tel.Observe(rule.Decision{Kind: rule.Warned, Reason: rule.ReasonUnknownCampaign, CampaignID: "resend"})

	counts := e.decisionCounts(e.collect())
	require.LessOrEqual(t, len(counts), 4, "a series per invented ID")
	require.Equal(t, map[string]int64{
		"ignored/unknown_campaign":        invented,
		"warning/unknown_campaign/resend": 1,
		"scheduled/resend":                1,
		"delivered/resend":                1,
	}, counts, "the real campaign's series are not in the overflow series")
}

// statsFunc adapts a function to [otelconnector.StatsSource].
type statsFunc func(ctx context.Context) (store.Stats, error)

func (f statsFunc) Stats(ctx context.Context) (store.Stats, error) { return f(ctx) }

func TestPending(t *testing.T) {
	t.Run("a failing source skips its observation only", func(t *testing.T) {
		var (
			mu      sync.Mutex
			handled []error
		)
		e := newTelemetry(t, otelconnector.WithErrorHandler(func(err error) {
			mu.Lock()
			handled = append(handled, err)
			mu.Unlock()
		}))
		errDown := errors.New("database down")
		_, err := e.tel.ObservePending(statsFunc(func(context.Context) (store.Stats, error) {
			return store.Stats{}, errDown
		}))
		require.NoError(t, err)
		e.tel.Observe(rule.Decision{Kind: rule.Scheduled, CampaignID: "resend"})

		ms := e.collect() // fails the test if Collect returns an error
		require.Nil(t, e.pending(ms), "no observation")
		require.Equal(t, map[string]int64{"scheduled": 1}, e.decisionCounts(ms), "the other metrics are still there")
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, handled, 1)
		require.ErrorIs(t, handled[0], errDown)
	})
	t.Run("each namespace has its series", func(t *testing.T) {
		e := newTelemetry(t)
		engines := map[string]*connector.Engine{}
		st := store.NewMemory()
		for _, ns := range []string{"", "tenant-a", "tenant-b"} {
			eng, err := connector.New(st, nopSender, append(e.tel.Options(), connector.WithNamespace(ns))...)
			require.NoError(t, err)
			reg, err := e.tel.ObservePending(eng)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, reg.Unregister()) })
			engines[ns] = eng
		}
		ctx := context.Background()
		eng := engines["tenant-a"]
		newsletter, followUp := resend()
		require.NoError(t, eng.Save(ctx, newsletter))
		require.NoError(t, eng.Save(ctx, followUp))
		require.NoError(t, eng.Publish(ctx, "resend"))
		require.NoError(t, eng.Publish(ctx, "newsletter"))
		require.NoError(t, eng.Track(ctx, received("ann")))
		require.NoError(t, eng.Track(ctx, received("bob")))
		require.Equal(t, map[string]int64{"": 0, "tenant-a": 2, "tenant-b": 0}, e.pending(e.collect()))
	})
	t.Run("unregistering stops the observations", func(t *testing.T) {
		e := newTelemetry(t)
		reg, err := e.tel.ObservePending(statsFunc(func(context.Context) (store.Stats, error) {
			return store.Stats{Pending: 7}, nil
		}))
		require.NoError(t, err)
		require.Equal(t, map[string]int64{"": 7}, e.pending(e.collect()))
		require.NoError(t, reg.Unregister())
		require.Nil(t, e.pending(e.collect()))
	})
	t.Run("nil source", func(t *testing.T) {
		_, err := newTelemetry(t).tel.ObservePending(nil)
		require.ErrorIs(t, err, otelconnector.ErrNilSource)
	})
}

// countsFunc adapts a function to [otelconnector.EventCountsSource].
type countsFunc func() store.EventCounts

func (f countsFunc) EventCounts() store.EventCounts { return f() }

// hostSource is a host's source type, whose methods need a non-nil
// receiver.
type hostSource struct{ ns string }

func (s *hostSource) Namespace() string { return s.ns }

func (s *hostSource) Stats(context.Context) (store.Stats, error) { return store.Stats{}, nil }

func (s *hostSource) EventCounts() store.EventCounts { return store.EventCounts{} }

func (s *hostSource) ClockSkew(context.Context) (time.Duration, error) { return 0, nil }

// A nil source, even a nil *connector.Engine in a non-nil interface, is an
// error of registration, not a panic.
func TestObserveRejectsNilSources(t *testing.T) {
	tel := newTelemetry(t).tel
	var engine *connector.Engine
	for _, tc := range []struct {
		name    string
		observe func() error
		want    string
	}{
		{"ObservePending(nil)", func() error { _, err := tel.ObservePending(nil); return err },
			"otelconnector: nil source: ObservePending got nil"},
		{"ObservePending(nil *connector.Engine)", func() error { _, err := tel.ObservePending(engine); return err },
			"otelconnector: nil source: ObservePending got a nil *connector.Engine"},
		{"ObserveEvents(nil)", func() error { _, err := tel.ObserveEvents(nil); return err },
			"otelconnector: nil source: ObserveEvents got nil"},
		{"ObserveEvents(nil *connector.Engine)", func() error { _, err := tel.ObserveEvents(engine); return err },
			"otelconnector: nil source: ObserveEvents got a nil *connector.Engine"},
		{"ObserveClockSkew(nil)", func() error { _, err := tel.ObserveClockSkew(nil); return err },
			"otelconnector: nil source: ObserveClockSkew got nil"},
		{"ObserveClockSkew(nil *connector.Engine)", func() error { _, err := tel.ObserveClockSkew(engine); return err },
			"otelconnector: nil source: ObserveClockSkew got a nil *connector.Engine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = tc.observe() })
			require.ErrorIs(t, err, otelconnector.ErrNilSource)
			require.EqualError(t, err, tc.want)
		})
	}
	t.Run("a nil pointer of the host's type", func(t *testing.T) {
		var src *hostSource
		var errPending, errEvents, errSkew error
		require.NotPanics(t, func() {
			_, errPending = tel.ObservePending(src)
			_, errEvents = tel.ObserveEvents(src)
			_, errSkew = tel.ObserveClockSkew(src)
		})
		require.ErrorContains(t, errPending, "otelconnector: ObservePending: reading the source's namespace: panic: runtime error: invalid memory address")
		require.ErrorContains(t, errEvents, "otelconnector: ObserveEvents: reading the source's namespace: panic: runtime error: invalid memory address")
		require.ErrorContains(t, errSkew, "otelconnector: ObserveClockSkew: reading the source's namespace: panic: runtime error: invalid memory address")
	})
}

// A source that panics during a collection costs its own observations
// only: the collection runs in the metric reader, whose periodic
// goroutine would otherwise crash the process.
func TestSourcePanicsGoToTheErrorHandler(t *testing.T) {
	var (
		mu      sync.Mutex
		handled []string
	)
	e := newTelemetry(t, otelconnector.WithErrorHandler(func(err error) {
		mu.Lock()
		handled = append(handled, err.Error())
		mu.Unlock()
	}))
	_, err := e.tel.ObservePending(statsFunc(func(context.Context) (store.Stats, error) { panic("store gone") }))
	require.NoError(t, err)
	_, err = e.tel.ObserveEvents(countsFunc(func() store.EventCounts { panic("counts gone") }))
	require.NoError(t, err)
	e.tel.Observe(rule.Decision{Kind: rule.Scheduled, CampaignID: "resend"})

	var ms map[string]metricdata.Metrics
	require.NotPanics(t, func() { ms = e.collect() })
	require.Nil(t, e.pending(ms), "no observation")
	require.Nil(t, e.counter(ms, otelconnector.MetricEventsTracked, "{event}"), "no observation")
	require.Equal(t, map[string]int64{"scheduled": 1}, e.decisionCounts(ms), "the other metrics are still there")
	mu.Lock()
	defer mu.Unlock()
	sort.Strings(handled)
	require.Equal(t, []string{
		"otelconnector: reading event counts: panic: counts gone",
		"otelconnector: reading pending deliveries: panic: store gone",
	}, handled)
}

func TestObserveClampsEarlyDeliveries(t *testing.T) {
	// Engines with skewed clocks can record a delivery before its due time.
	e := newTelemetry(t)
	due := connectortest.Start
	e.tel.Observe(rule.Decision{Kind: rule.Delivered, DueAt: due, At: due.Add(-time.Second)})
	e.tel.Observe(rule.Decision{Kind: rule.Delivered, DueAt: due, At: due.Add(90 * time.Second)})
	e.tel.Observe(rule.Decision{Kind: rule.Retried, Reason: rule.ReasonSendError, DueAt: due, At: due.Add(time.Hour)})
	lag := e.histogram(e.collect(), otelconnector.MetricDeliveryLag)
	require.Equal(t, uint64(2), lag[""].Count, "only deliveries have a lag")
	require.Equal(t, 90.0, lag[""].Sum)
	lo, _ := lag[""].Min.Value()
	require.Equal(t, 0.0, lo)
}

// A suppression of a scheduled delivery when it came due is counted apart
// from a trigger's suppression on arrival of the same reason.
func TestDecisionsTellSuppressionsWhenDue(t *testing.T) {
	e := newTelemetry(t)
	e.tel.Observe(rule.Decision{Kind: rule.Suppressed, Reason: rule.ReasonNotInAudience, UserID: "u"})
	e.tel.Observe(rule.Decision{Kind: rule.Suppressed, Reason: rule.ReasonNotInAudience, UserID: "u", DeliveryID: "d1"})
	e.tel.Observe(rule.Decision{Kind: rule.Suppressed, Reason: rule.ReasonNotInAudience, UserID: "v", DeliveryID: "d2"})
	e.tel.Observe(rule.Decision{Kind: rule.Delivered, UserID: "u", DeliveryID: "d3"})
	require.Equal(t, map[string]int64{
		"suppressed/not_in_audience":          1,
		"suppressed/not_in_audience/when_due": 2,
		"delivered":                           1,
	}, e.decisionCounts(e.collect()))
}

// nopSender accepts every delivery.
var nopSender = connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
