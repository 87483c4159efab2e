package otelconnector_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
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
	require.Equal(t, 60.0, l.Bounds[6])
	require.Equal(t, uint64(1), l.BucketCounts[6], "(30, 60]: cid")

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
		long := string(make([]byte, 1000))
		_ = e.h.Engine.Track(context.Background(), event.Event{UserID: long, Kind: event.Kind(long), CampaignID: long})
		a := attrs(e.ended(otelconnector.SpanTrack)[0])
		for _, k := range []string{"event.kind", "campaign.id", "user.id"} {
			require.Len(t, a[k], 256, k)
		}
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
