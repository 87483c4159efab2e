package connector

import (
	"context"
	"log/slog"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Instrumentation is called around each Track and each send, for tracing
// (the nested module otelconnector implements it with OpenTelemetry spans).
// Each Start method returns the context to use for the operation and a
// function the engine calls with the operation's error when it ends.
// Implementations must be safe for concurrent use and quick.
type Instrumentation interface {
	StartTrack(ctx context.Context, ev event.Event) (context.Context, func(err error))
	StartSend(ctx context.Context, d Delivery) (context.Context, func(err error))
}

// BatchInstrumentation is an [Instrumentation] that also wraps TrackAll as
// a whole: with it, [Engine.TrackAll] keeps handing its events to the store
// together and calls StartTrackAll once per call, ended with TrackAll's
// error; without it, TrackAll calls Track for each event, so that each has
// its StartTrack. (otelconnector's Telemetry implements it.)
type BatchInstrumentation interface {
	Instrumentation
	StartTrackAll(ctx context.Context, events []event.Event) (context.Context, func(err error))
}

// WithInstrumentation installs i around Track and each send. Defaults to none.
func WithInstrumentation(i Instrumentation) Option {
	return func(cfg *config) error {
		if i == nil {
			return errorf("nil instrumentation")
		}
		cfg.instrument = i
		return nil
	}
}

// WithLogger logs the engine's decisions and errors to l with structured
// attributes (campaign, user, event, delivery, reason): scheduled,
// suppressed, cancelled and duplicate decisions at Debug, deliveries and
// what [Engine.Apply] changed (each change, then a summary) at Info,
// retries and definition warnings at Warn, failures and store errors met
// by Run at Error. Defaults to no logging.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) error {
		if l == nil {
			return errorf("nil logger")
		}
		cfg.logger = l
		cfg.observers = append(cfg.observers, logObserver{l})
		return nil
	}
}

type logObserver struct{ l *slog.Logger }

func (o logObserver) Observe(d rule.Decision) {
	level := slog.LevelDebug
	switch d.Kind {
	case rule.Delivered, rule.Applied:
		level = slog.LevelInfo
	case rule.Retried, rule.Warning:
		level = slog.LevelWarn
	case rule.Failed:
		level = slog.LevelError
	}
	ctx := context.Background()
	if !o.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs, slog.String("decision", string(d.Kind)))
	add := func(key, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(key, v))
		}
	}
	add("reason", string(d.Reason))
	add("campaign", d.CampaignID)
	add("user", d.UserID)
	add("event", d.EventID)
	add("event_kind", string(d.EventKind))
	add("delivery", d.DeliveryID)
	add("rule", d.Rule)
	add("detail", d.Detail)
	if !d.DueAt.IsZero() {
		attrs = append(attrs, slog.Time("due_at", d.DueAt))
	}
	if d.Attempt > 0 {
		attrs = append(attrs, slog.Int("attempt", d.Attempt))
	}
	if d.Backfilled {
		attrs = append(attrs, slog.Bool("backfilled", true))
	}
	o.l.LogAttrs(ctx, level, "campaignconnector "+string(d.Kind), attrs...)
}

// logError reports an error the caller cannot see (met by Run).
func (e *Engine) logError(msg string, err error) {
	if e.cfg.logger != nil {
		e.cfg.logger.LogAttrs(context.Background(), slog.LevelError, "campaignconnector: "+msg,
			slog.String("namespace", e.cfg.namespace), slog.Any("error", err))
	}
}

// Stats counts what the engine's namespace holds in the store (campaigns,
// users, pending deliveries), for gauges and tests.
func (e *Engine) Stats(ctx context.Context) (store.Stats, error) {
	return e.store.Stats(ctx, e.cfg.namespace)
}
