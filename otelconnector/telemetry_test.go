package otelconnector_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

var errMailboxFull = errors.New("provider: mailbox full")

// resend resends the newsletter an hour after receipt to users who did not
// open it.
func resend() (newsletter, followUp rule.Campaign) {
	return rule.Campaign{ID: "newsletter"}, rule.Campaign{
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
	}
}

func received(user string) event.Event {
	return event.Event{UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"}
}

// TestEndToEnd drives one engine through scheduling, suppression,
// cancellation, delivery, retries and a final failure, and checks every
// metric and span against what happened. The harness retries after 1, then
// 2 minutes, and gives up after 3 attempts.
func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	h := e.h
	h.Save(resend())
	h.Publish("resend", "newsletter")
	// cid's first attempt fails; eve's always do.
	h.Sender.Fail = func(d connector.Delivery) error {
		if d.UserID == "eve" || (d.UserID == "cid" && d.Attempt == 1) {
			return errMailboxFull
		}
		return nil
	}

	// dan receives the newsletter and opens it a minute later.
	h.Track(received("dan"))
	require.Zero(t, h.Advance(time.Minute))
	h.Track(event.Event{UserID: "dan", Kind: event.EmailOpened, CampaignID: "newsletter"})
	h.Track(received("ann"), received("bob"), received("bob"), received("cid"), received("eve"))

	ms := e.collect()
	require.Equal(t, map[string]int64{
		"scheduled":                  5,
		"suppressed/already_pending": 1,
		"cancelled/exception":        1,
	}, e.decisionCounts(ms))
	require.Equal(t, map[string]int64{"": 4}, e.pending(ms), "ann, bob, cid and eve wait")
	require.Nil(t, e.histogram(ms, otelconnector.MetricSendDuration, otelconnector.AttrOutcome), "nothing sent yet")
	require.Nil(t, e.histogram(ms, otelconnector.MetricDeliveryLag), "nothing delivered yet")

	// Due: ann and bob go out on time, cid's and eve's first attempts fail.
	require.Equal(t, 2, h.Advance(time.Hour))
	ms = e.collect()
	require.Equal(t, map[string]int64{
		"scheduled":                  5,
		"suppressed/already_pending": 1,
		"cancelled/exception":        1,
		"delivered":                  2,
		"retried/send_error":         2,
	}, e.decisionCounts(ms))
	require.Equal(t, map[string]int64{"": 2}, e.pending(ms), "cid and eve wait for their retries")
	sends := e.histogram(ms, otelconnector.MetricSendDuration, otelconnector.AttrOutcome)
	require.Len(t, sends, 2)
	require.Equal(t, uint64(2), sends["ok"].Count)
	require.Equal(t, uint64(2), sends["error"].Count)
	lag := e.histogram(ms, otelconnector.MetricDeliveryLag)
	require.Equal(t, uint64(2), lag[""].Count)
	require.Equal(t, 0.0, lag[""].Sum, "delivered at their due time")

	// cid's retry succeeds a minute late; eve fails twice more and is
	// given up.
	require.Equal(t, 1, h.Advance(time.Hour))
	h.RequireKinds("eve", "resend", "scheduled", "retried/send_error", "retried/send_error", "failed/send_error")
	ms = e.collect()
	require.Equal(t, map[string]int64{
		"scheduled":                  5,
		"suppressed/already_pending": 1,
		"cancelled/exception":        1,
		"delivered":                  3,
		"retried/send_error":         3,
		"failed/send_error":          1,
	}, e.decisionCounts(ms))
	require.Equal(t, map[string]int64{"": 0}, e.pending(ms))

	sends = e.histogram(ms, otelconnector.MetricSendDuration, otelconnector.AttrOutcome)
	require.Len(t, sends, 2)
	ok, failed := sends["ok"], sends["error"]
	require.Equal(t, uint64(3), ok.Count, "ann, bob, cid's second attempt")
	require.Equal(t, 3*sendStep.Seconds(), ok.Sum)
	require.Equal(t, uint64(4), failed.Count, "cid's first attempt, eve's three")
	require.Equal(t, 4*sendStep.Seconds(), failed.Sum)
	longest, _ := failed.Max.Value()
	require.Equal(t, sendStep.Seconds(), longest)

	lag = e.histogram(ms, otelconnector.MetricDeliveryLag)
	require.Len(t, lag, 1)
	l := lag[""]
	require.Equal(t, uint64(3), l.Count)
	require.Equal(t, 60.0, l.Sum, "cid went out a minute after its due time")
	lo, _ := l.Min.Value()
	hi, _ := l.Max.Value()
	require.Equal(t, 0.0, lo)
	require.Equal(t, 60.0, hi)
	require.Equal(t, uint64(2), l.BucketCounts[0], "(-∞, 0]: ann and bob")
	require.Equal(t, []float64{0, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30, 60}, l.Bounds[:10],
		"lag's buckets part sub-second lags (a Tick's period) from seconds, and seconds from minutes")
	require.Equal(t, uint64(1), l.BucketCounts[9], "(30, 60]: cid")

	// Spans: one per Track call, one per send attempt.
	tracks := e.ended(otelconnector.SpanTrack)
	require.Len(t, tracks, 7)
	for _, s := range tracks {
		require.Equal(t, codes.Unset, s.Status().Code, "Track succeeded")
		require.Equal(t, trace.SpanKindInternal, s.SpanKind())
		require.False(t, s.Parent().IsValid(), "no parent in the context")
	}
	require.Equal(t, map[string]any{"event.kind": "email_received", "campaign.id": "newsletter"}, attrs(tracks[0]))
	require.Equal(t, map[string]any{"event.kind": "email_opened", "campaign.id": "newsletter"}, attrs(tracks[1]))

	require.Len(t, e.ended(otelconnector.SpanSend), 7)
	require.Equal(t, []string{"Error", "Error", "Error", "Error", "Unset", "Unset", "Unset"},
		statuses(e.ended(otelconnector.SpanSend)))
	cid := e.deliveryOf("cid", "resend")
	first := e.sendSpan(cid, 1)
	require.Equal(t, map[string]any{"delivery.id": cid, "campaign.id": "resend", "delivery.attempt": int64(1)}, attrs(first))
	require.Equal(t, sdktrace.Status{Code: codes.Error, Description: "provider: mailbox full"}, first.Status())
	require.Len(t, first.Events(), 1)
	require.Equal(t, "exception", first.Events()[0].Name)
	second := e.sendSpan(cid, 2)
	require.Equal(t, map[string]any{"delivery.id": cid, "campaign.id": "resend", "delivery.attempt": int64(2)}, attrs(second))
	require.Equal(t, codes.Unset, second.Status().Code)
	require.Empty(t, second.Events())
	require.Equal(t, codes.Error, e.sendSpan(e.deliveryOf("eve", "resend"), 3).Status().Code)
}

func TestTrackSpan(t *testing.T) {
	t.Run("a failed Track records its error", func(t *testing.T) {
		e := newEnv(t)
		err := e.h.Engine.Track(context.Background(), event.Event{UserID: "ann", Kind: "smoke_signal", CampaignID: "newsletter"})
		require.ErrorIs(t, err, event.ErrUnknownKind)
		spans := e.ended(otelconnector.SpanTrack)
		require.Len(t, spans, 1)
		require.Equal(t, map[string]any{"event.kind": "smoke_signal", "campaign.id": "newsletter"}, attrs(spans[0]))
		require.Equal(t, sdktrace.Status{Code: codes.Error, Description: err.Error()}, spans[0].Status())
		require.Len(t, spans[0].Events(), 1)
		require.Equal(t, "exception", spans[0].Events()[0].Name)
	})
	t.Run("the span is a child of the caller's span", func(t *testing.T) {
		e := newEnv(t)
		ctx, parent := e.tp.Tracer("host").Start(context.Background(), "webhook")
		require.NoError(t, e.h.Engine.Track(ctx, event.Event{UserID: "ann", Kind: event.Purchase}))
		parent.End()
		spans := e.ended(otelconnector.SpanTrack)
		require.Len(t, spans, 1)
		require.Equal(t, parent.SpanContext().SpanID(), spans[0].Parent().SpanID())
		require.Equal(t, parent.SpanContext().TraceID(), spans[0].SpanContext().TraceID())
		require.Equal(t, map[string]any{"event.kind": "purchase"}, attrs(spans[0]), "no campaign: no campaign.id")
	})
	t.Run("oversized strings are clipped", func(t *testing.T) {
		e := newEnv(t, otelconnector.WithUserID())
		long := strings.Repeat("x", 1000)
		_ = e.h.Engine.Track(context.Background(), event.Event{UserID: long, Kind: event.Kind(long), CampaignID: long})
		a := attrs(e.ended(otelconnector.SpanTrack)[0])
		for _, k := range []string{"event.kind", "campaign.id", "user.id"} {
			require.Equal(t, long[:256], a[k], k)
		}
	})
	t.Run("a clipped string ends at a rune boundary", func(t *testing.T) {
		e := newEnv(t)
		euros := strings.Repeat("€", 100) // 3 bytes each: 256 bytes split the 86th
		_ = e.h.Engine.Track(context.Background(), event.Event{UserID: "ann", Kind: event.Kind(euros)})
		require.Equal(t, euros[:255], attrs(e.ended(otelconnector.SpanTrack)[0])["event.kind"])
	})
}

func TestTrackAllSpan(t *testing.T) {
	e := newEnv(t)
	err := e.h.Engine.TrackAll(context.Background(), []event.Event{
		{UserID: "ann", Kind: event.Purchase},
		{UserID: "bob", Kind: "smoke_signal"},
		{UserID: "cid", Kind: event.Purchase},
	})
	require.ErrorIs(t, err, event.ErrUnknownKind)
	spans := e.ended(otelconnector.SpanTrackAll)
	require.Len(t, spans, 1)
	require.Equal(t, map[string]any{"event.count": int64(3)}, attrs(spans[0]))
	require.Equal(t, sdktrace.Status{Code: codes.Error, Description: err.Error()}, spans[0].Status())
	require.Empty(t, e.ended(otelconnector.SpanTrack), "one span for the batch, none per event")
}

func TestSendSpanIsTheSendersParent(t *testing.T) {
	e := newTelemetry(t)
	var inSender trace.SpanContext
	sender := connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
		inSender = trace.SpanContextFromContext(ctx)
		return nil
	})
	n, err := immediateEngine(t, e, sender).Tick(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	spans := e.ended(otelconnector.SpanSend)
	require.Len(t, spans, 1)
	require.True(t, inSender.IsValid())
	require.Equal(t, spans[0].SpanContext().SpanID(), inSender.SpanID())
}

func TestSenderPanicIsAnError(t *testing.T) {
	e := newTelemetry(t)
	sender := connector.SenderFunc(func(context.Context, connector.Delivery) error { panic("boom") })
	n, err := immediateEngine(t, e, sender).Tick(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)

	spans := e.ended(otelconnector.SpanSend)
	require.Len(t, spans, 1)
	require.Equal(t, codes.Error, spans[0].Status().Code)
	require.Contains(t, spans[0].Status().Description, "boom")
	sends := e.histogram(e.collect(), otelconnector.MetricSendDuration, otelconnector.AttrOutcome)
	require.Len(t, sends, 1)
	require.Equal(t, uint64(1), sends["error"].Count)
}

// immediateEngine returns an engine instrumented by e's Telemetry, on the
// system clock, with one delivery due at once for ann.
func immediateEngine(t *testing.T, e *env, sender connector.Sender) *connector.Engine {
	t.Helper()
	eng, err := connector.New(store.NewMemory(), sender, e.tel.Options()...)
	require.NoError(t, err)
	ctx := context.Background()
	newsletter, followUp := resend()
	followUp.Delay, followUp.Exceptions = rule.Immediately(), nil
	require.NoError(t, eng.Save(ctx, newsletter))
	require.NoError(t, eng.Save(ctx, followUp))
	require.NoError(t, eng.Publish(ctx, "resend"))
	require.NoError(t, eng.Publish(ctx, "newsletter"))
	require.NoError(t, eng.Track(ctx, received("ann")))
	return eng
}

// hostile is text that no span or metric may carry as is: a Latin-1 "é",
// a NUL byte, a lone continuation byte and a truncated rune. OTLP refuses
// strings that are not valid UTF-8, failing the export of a whole batch.
const hostile = "caf\xe9\x00\x80\xe2\x82"

// hostileSafe is what the attributes carry instead: U+FFFD for each
// invalid byte and for the NUL byte.
const hostileSafe = "caf\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD"

// hostileSource is a source of the pending gauge and of the event
// counters whose namespace is hostile.
type hostileSource struct{}

func (hostileSource) Namespace() string { return hostile }

func (hostileSource) Stats(context.Context) (store.Stats, error) {
	return store.Stats{Pending: 1}, nil
}

func (hostileSource) EventCounts() store.EventCounts { return store.EventCounts{Tracked: 1} }

// requireText fails unless s is valid UTF-8 without NUL bytes.
func requireText(t *testing.T, where, s string) {
	t.Helper()
	require.True(t, utf8.ValidString(s), "%s: %q is not valid UTF-8", where, s)
	require.NotContains(t, s, "\x00", "%s: %q holds a NUL byte", where, s)
}

// requireSetText checks every string value of set.
func requireSetText(t *testing.T, where string, set attribute.Set) {
	t.Helper()
	for _, kv := range set.ToSlice() {
		if kv.Value.Type() == attribute.STRING {
			requireText(t, where+" "+string(kv.Key), kv.Value.AsString())
		}
	}
}

// Every string that reaches a span or a metric from input (an event, a
// delivery read from the store, an error's text, a decision, a source's
// namespace) is valid UTF-8 without NUL bytes.
func TestHostileTextIsMadeValid(t *testing.T) {
	e := newEnv(t, otelconnector.WithUserID(), otelconnector.WithCampaignAttribute())
	ctx := context.Background()
	ev := event.Event{ID: hostile, UserID: hostile, Kind: event.Kind(hostile), CampaignID: hostile}
	require.Error(t, e.h.Engine.Track(ctx, ev), "Track's span starts before validation")
	require.Error(t, e.h.Engine.TrackAll(ctx, []event.Event{ev, {ID: hostile, UserID: "ann", Kind: event.Purchase, Name: hostile}}))
	_, end := e.tel.StartSend(ctx, connector.Delivery{ID: hostile, CampaignID: hostile, UserID: hostile, Attempt: 1})
	end(errors.New("provider: unknown mailbox " + hostile))
	due := connectortest.Start
	e.tel.Observe(rule.Decision{Kind: rule.DecisionKind(hostile), Reason: rule.Reason(hostile), CampaignID: hostile})
	e.tel.Observe(rule.Decision{Kind: rule.Delivered, CampaignID: hostile, DueAt: due, At: due.Add(time.Second)})
	reg, err := e.tel.ObservePending(hostileSource{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Unregister()) })
	reg, err = e.tel.ObserveEvents(hostileSource{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Unregister()) })

	track := e.ended(otelconnector.SpanTrack)
	require.Len(t, track, 1)
	require.Equal(t, map[string]any{"event.kind": hostileSafe, "campaign.id": hostileSafe, "user.id": hostileSafe}, attrs(track[0]))
	send := e.ended(otelconnector.SpanSend)
	require.Len(t, send, 1)
	require.Equal(t, map[string]any{"delivery.id": hostileSafe, "campaign.id": hostileSafe, "user.id": hostileSafe, "delivery.attempt": int64(1)}, attrs(send[0]))
	require.Equal(t, "provider: unknown mailbox "+hostileSafe, send[0].Status().Description)
	exc := send[0].Events()
	require.Len(t, exc, 1)
	require.Equal(t, "exception", exc[0].Name)
	got := map[string]any{}
	for _, kv := range exc[0].Attributes {
		got[string(kv.Key)] = kv.Value.AsInterface()
	}
	require.Equal(t, map[string]any{
		"exception.type":    "*errors.errorString",
		"exception.message": "provider: unknown mailbox " + hostileSafe,
	}, got, "what RecordError records, valid")
	spans := e.spans.Ended()
	require.Len(t, spans, 3, "Track, TrackAll, send")
	for _, s := range spans {
		requireSetText(t, s.Name(), attribute.NewSet(s.Attributes()...))
		requireText(t, s.Name()+" status", s.Status().Description)
		for _, ev := range s.Events() {
			requireSetText(t, s.Name()+" "+ev.Name, attribute.NewSet(ev.Attributes...))
		}
	}

	ms := e.collect()
	require.Equal(t, map[string]int64{hostileSafe + "/" + hostileSafe + "/" + hostileSafe: 1, "delivered/" + hostileSafe: 1},
		e.decisionCounts(ms))
	require.Equal(t, map[string]int64{"": 0, hostileSafe: 1}, e.pending(ms), "the harness engine's, hostileSource's")
	require.Equal(t, map[string]int64{hostileSafe: 1}, e.counter(ms, otelconnector.MetricEventsTracked, "{event}"))
	lag := e.histogram(ms, otelconnector.MetricDeliveryLag, otelconnector.AttrCampaignID)
	require.Contains(t, lag, hostileSafe)
	sends := e.histogram(ms, otelconnector.MetricSendDuration, otelconnector.AttrOutcome, otelconnector.AttrCampaignID)
	require.Contains(t, sends, "error/"+hostileSafe)
	for name, m := range ms {
		switch data := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range data.DataPoints {
				requireSetText(t, name, dp.Attributes)
			}
		case metricdata.Gauge[int64]:
			for _, dp := range data.DataPoints {
				requireSetText(t, name, dp.Attributes)
			}
		case metricdata.Histogram[float64]:
			for _, dp := range data.DataPoints {
				requireSetText(t, name, dp.Attributes)
			}
		default:
			t.Fatalf("%s: unexpected %T", name, m.Data)
		}
	}
}

// panicClock panics from its reading number panicAt on (counted from 1).
type panicClock struct {
	mu       sync.Mutex
	readings int
	panicAt  int
}

func (c *panicClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readings++
	if c.readings >= c.panicAt {
		panic("clock broken")
	}
	return connectortest.Start
}

// A panic of the host's clock (WithClock) leaves no send span open.
func TestSendSpanEndsWhenTheClockPanics(t *testing.T) {
	ctx := context.Background()
	d := connector.Delivery{ID: "d1", CampaignID: "resend", UserID: "ann", Attempt: 1}
	t.Run("when the send ends", func(t *testing.T) {
		e := newTelemetry(t, otelconnector.WithClock(&panicClock{panicAt: 2}))
		_, end := e.tel.StartSend(ctx, d)
		require.PanicsWithValue(t, "clock broken", func() { end(errMailboxFull) })
		spans := e.ended(otelconnector.SpanSend)
		require.Len(t, spans, 1)
		require.Equal(t, sdktrace.Status{Code: codes.Error, Description: errMailboxFull.Error()}, spans[0].Status())
	})
	t.Run("when it starts", func(t *testing.T) {
		e := newTelemetry(t, otelconnector.WithClock(&panicClock{panicAt: 1}))
		require.PanicsWithValue(t, "clock broken", func() { e.tel.StartSend(ctx, d) })
		require.Empty(t, e.spans.Started(), "no span to end")
	})
}
