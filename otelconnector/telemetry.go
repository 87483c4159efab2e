package otelconnector

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/campaignconnector/campaignconnector/otelconnector"

// Metric names; the package documentation says what each measures.
const (
	// MetricDecisions counts decisions (Int64Counter, {decision}).
	MetricDecisions = "campaignconnector.decisions"
	// MetricSendDuration times sender calls (Float64Histogram, s).
	MetricSendDuration = "campaignconnector.send.duration"
	// MetricDeliveryLag measures how late deliveries went out after the
	// due time their trigger and delay gave them (Float64Histogram, s):
	// retries and a slow Tick show in it, and so do deferrals by quiet
	// hours, send windows and rate limits, and triggers reported after
	// their due time.
	MetricDeliveryLag = "campaignconnector.delivery.lag"
	// MetricPendingDeliveries reports the store's pending deliveries
	// (Int64ObservableGauge, {delivery}).
	MetricPendingDeliveries = "campaignconnector.pending_deliveries"
)

// Span names.
const (
	// SpanTrack is the span around Engine.Track.
	SpanTrack = "campaignconnector.track"
	// SpanTrackAll is the span around Engine.TrackAll.
	SpanTrackAll = "campaignconnector.track_all"
	// SpanSend is the span around each call of the host's sender.
	SpanSend = "campaignconnector.send"
)

// Attribute keys.
const (
	AttrDecisionKind    = attribute.Key("decision.kind")    // rule.DecisionKind
	AttrDecisionReason  = attribute.Key("decision.reason")  // rule.Reason, absent when empty
	AttrDecisionStage   = attribute.Key("decision.stage")   // "when_due" for a suppression of a scheduled delivery when it came due; else absent
	AttrOutcome         = attribute.Key("outcome")          // "ok" or "error"
	AttrCampaignID      = attribute.Key("campaign.id")      // spans; metrics with WithCampaignAttribute, for known campaigns
	AttrEventKind       = attribute.Key("event.kind")       // event.Kind of a tracked event
	AttrDeliveryID      = attribute.Key("delivery.id")      // connector.Delivery.ID
	AttrDeliveryAttempt = attribute.Key("delivery.attempt") // from 1
	AttrUserID          = attribute.Key("user.id")          // only with WithUserID
	AttrUserHash        = attribute.Key("user.hash")        // only with WithUserHash
	AttrEventCount      = attribute.Key("event.count")      // events handed to TrackAll
	// AttrNamespace is the engine's namespace, when it is not the default
	// (""): on [MetricPendingDeliveries], [MetricClockSkew] and the event
	// counters (from the registered source), and on [MetricDecisions] and
	// [MetricDeliveryLag] (from each decision), so that engines of
	// several namespaces can share one Telemetry. [MetricSendDuration]
	// does not carry it: a send does not know its engine's namespace.
	AttrNamespace = attribute.Key("campaignconnector.namespace")
)

// Values of [AttrOutcome].
const (
	OutcomeOK    = "ok"    // the sender accepted the delivery
	OutcomeError = "error" // the sender returned an error (or panicked)
)

// Bucket boundaries, in seconds. Sends are network calls (the HTTP
// semantic conventions' buckets, stretched to a minute); lag ranges from
// "on time" to "the engine was down for a day".
var (
	sendBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60}
	lagBuckets  = []float64{0, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400}
)

// maxAttrLen bounds string attributes taken from input: Track opens its
// span before the engine validates the event, so the strings may be
// anything a caller passed. Campaign IDs are at most rule.MaxIDLength,
// 256 bytes too, so clipping never merges two campaigns' series.
const maxAttrLen = 256

// Telemetry turns an engine's decisions, Track calls and sends into
// OpenTelemetry metrics and spans. Build it with [New] and pass
// [Telemetry.Options] to connector.New. It is safe for concurrent use, and
// one Telemetry may serve several engines. A zero Telemetry works as one
// from New() with no options: it creates its instruments on the global
// providers at its first use.
type Telemetry struct {
	once   sync.Once // a zero Telemetry's instruments, created at its first use
	cfg    config
	tracer trace.Tracer
	meter  metric.Meter

	decisions    metric.Int64Counter
	sendDuration metric.Float64Histogram
	deliveryLag  metric.Float64Histogram
	pending      metric.Int64ObservableGauge
	clockSkew    metric.Float64ObservableGauge

	tracked, unheard, duplicates metric.Int64ObservableCounter
	events                       eventSources // what ObserveEvents registered

	okSet, errorSet attribute.Set // outcome-only attribute sets, built once
}

var (
	_ connector.Observer        = (*Telemetry)(nil)
	_ connector.Instrumentation = (*Telemetry)(nil)
)

// New creates the instruments on the configured providers (the global ones
// by default). It fails with [ErrInvalidOption] for unusable options, or
// with the meter's error if an instrument cannot be created.
func New(opts ...Option) (*Telemetry, error) {
	cfg := defaultConfig()
	var errs []error
	for _, o := range opts {
		if o == nil {
			errs = append(errs, errorf("nil option"))
			continue
		}
		errs = append(errs, o(&cfg))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	t := new(Telemetry)
	if err := t.build(cfg); err != nil {
		return nil, err
	}
	return t, nil
}

// ready makes sure t has its instruments: one from New has them; a zero
// Telemetry creates them now, as New() would. Should that fail (a meter
// that refuses an instrument), the error goes to otel.Handle and t
// measures nothing rather than panic in the engine's calls.
func (t *Telemetry) ready() {
	t.once.Do(func() {
		if t.meter != nil {
			return
		}
		if err := t.build(defaultConfig()); err != nil {
			otel.Handle(err)
			cfg := defaultConfig()
			cfg.meterProvider, cfg.tracerProvider = metricnoop.NewMeterProvider(), tracenoop.NewTracerProvider()
			_ = t.build(cfg) // the no-op providers never fail
		}
	})
}

// build creates t's instruments on cfg's providers (the global ones when
// cfg names none).
func (t *Telemetry) build(cfg config) error {
	if cfg.meterProvider == nil {
		cfg.meterProvider = otel.GetMeterProvider()
	}
	if cfg.tracerProvider == nil {
		cfg.tracerProvider = otel.GetTracerProvider()
	}
	t.cfg = cfg
	t.tracer = cfg.tracerProvider.Tracer(ScopeName)
	t.meter = cfg.meterProvider.Meter(ScopeName)
	t.okSet = attribute.NewSet(AttrOutcome.String(OutcomeOK))
	t.errorSet = attribute.NewSet(AttrOutcome.String(OutcomeError))
	var (
		errs []error
		err  error
	)
	t.decisions, err = t.meter.Int64Counter(MetricDecisions,
		metric.WithDescription("Decisions taken by the campaign connector engine, by kind and reason."),
		metric.WithUnit("{decision}"))
	errs = append(errs, err)
	t.sendDuration, err = t.meter.Float64Histogram(MetricSendDuration,
		metric.WithDescription("Duration of the host sender's calls."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(sendBuckets...))
	errs = append(errs, err)
	t.deliveryLag, err = t.meter.Float64Histogram(MetricDeliveryLag,
		metric.WithDescription("Time between a delivery's due time and its successful send."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(lagBuckets...))
	errs = append(errs, err)
	t.pending, err = t.meter.Int64ObservableGauge(MetricPendingDeliveries,
		metric.WithDescription("Pending deliveries held in the store for the engine's namespace."),
		metric.WithUnit("{delivery}"))
	errs = append(errs, err, t.newEventCounters(), t.newClockSkewGauge())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("otelconnector: creating instruments: %w", err)
	}
	return nil
}

// Options returns the connector options that install t on an engine:
// connector.WithObserver(t) and connector.WithInstrumentation(t). Pass
// them to connector.New (with any others).
func (t *Telemetry) Options() []connector.Option {
	return []connector.Option{connector.WithObserver(t), connector.WithInstrumentation(t)}
}

// Observe implements [connector.Observer]: it counts d in
// [MetricDecisions] and, for a delivered follow-up, records its lag in
// [MetricDeliveryLag].
func (t *Telemetry) Observe(d rule.Decision) {
	t.ready()
	// Observers get no context: the measurements cannot be linked to the
	// span that led to the decision.
	ctx := context.Background()
	var buf [5]attribute.KeyValue
	attrs := append(buf[:0], AttrDecisionKind.String(clip(string(d.Kind))))
	if d.Namespace != "" { // engines of several namespaces may share one Telemetry
		attrs = append(attrs, AttrNamespace.String(clip(d.Namespace)))
	}
	if d.Reason != "" {
		attrs = append(attrs, AttrDecisionReason.String(clip(string(d.Reason))))
	}
	if d.Kind == rule.Suppressed && d.DeliveryID != "" {
		attrs = append(attrs, AttrDecisionStage.String(store.RuleWhenDue))
	}
	if t.cfg.campaignAttr && d.CampaignID != "" && !unknownCampaign(d) {
		attrs = append(attrs, AttrCampaignID.String(clip(d.CampaignID)))
	}
	t.decisions.Add(ctx, 1, metric.WithAttributes(attrs...))
	if d.Kind == rule.Delivered && !d.DueAt.IsZero() && !d.At.IsZero() {
		// Engines with skewed clocks may see a delivery before its due
		// time; histograms take no negative values, and "early" is on time.
		lag := max(d.At.Sub(d.DueAt), 0).Seconds()
		lagAttrs := buf[:0]
		if d.Namespace != "" {
			lagAttrs = append(lagAttrs, AttrNamespace.String(clip(d.Namespace)))
		}
		if t.cfg.campaignAttr {
			lagAttrs = append(lagAttrs, AttrCampaignID.String(clip(d.CampaignID)))
		}
		t.deliveryLag.Record(ctx, lag, metric.WithAttributes(lagAttrs...))
	}
}

// unknownCampaign tells whether d is about an event naming a campaign the
// engine does not know. Its CampaignID is then the event's, which whoever
// writes events chooses (a webhook's metadata, say): as a metric
// attribute, each invented ID would make a series, and past the SDK's
// cardinality limit the real campaigns' new series would be folded into
// one overflow series. (A warning of reason unknown_campaign is about a
// known campaign that names a missing one: its CampaignID is the known
// one's.)
func unknownCampaign(d rule.Decision) bool {
	return d.Kind == rule.Ignored && d.Reason == rule.ReasonUnknownCampaign
}

var _ connector.BatchInstrumentation = (*Telemetry)(nil)

// StartTrack implements [connector.Instrumentation]: it starts a
// [SpanTrack] span, ended with the Track's error.
func (t *Telemetry) StartTrack(ctx context.Context, ev event.Event) (context.Context, func(err error)) {
	t.ready()
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, AttrEventKind.String(clip(string(ev.Kind))))
	if ev.CampaignID != "" {
		attrs = append(attrs, AttrCampaignID.String(clip(ev.CampaignID)))
	}
	attrs = t.appendUser(attrs, ev.UserID)
	ctx, span := t.tracer.Start(ctx, SpanTrack,
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	users := t.oneUser(ev.UserID)
	return ctx, func(err error) { endSpan(span, err, users) }
}

// StartTrackAll implements [connector.BatchInstrumentation]: it starts a
// [SpanTrackAll] span with [AttrEventCount], ended with TrackAll's error
// (which joins those of the events not tracked).
func (t *Telemetry) StartTrackAll(ctx context.Context, events []event.Event) (context.Context, func(err error)) {
	t.ready()
	ctx, span := t.tracer.Start(ctx, SpanTrackAll,
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(AttrEventCount.Int(len(events))))
	users := t.eventUsers(events)
	return ctx, func(err error) { endSpan(span, err, users) }
}

// StartSend implements [connector.Instrumentation]: it starts a [SpanSend]
// span and a timer, both ended with the send's error. The returned context
// (the one the sender gets) carries the span.
func (t *Telemetry) StartSend(ctx context.Context, d connector.Delivery) (context.Context, func(err error)) {
	t.ready()
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs,
		AttrDeliveryID.String(clip(d.ID)),
		AttrCampaignID.String(clip(d.CampaignID)),
		AttrDeliveryAttempt.Int(d.Attempt))
	attrs = t.appendUser(attrs, d.UserID)
	// The host's clock and meter run before and after the span, which
	// ends even when they panic.
	start := t.cfg.clock.Now()
	ctx, span := t.tracer.Start(ctx, SpanSend,
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	users := t.oneUser(d.UserID)
	return ctx, func(err error) {
		defer endSpan(span, err, users)
		elapsed := max(t.cfg.clock.Now().Sub(start), 0).Seconds()
		// Recorded under the span's context so that exemplars point at it;
		// a cancelled context still records.
		t.sendDuration.Record(ctx, elapsed, t.outcome(err, d.CampaignID))
	}
}

// outcome returns the attribute option of a send duration.
func (t *Telemetry) outcome(err error, campaignID string) metric.RecordOption {
	set, value := t.okSet, OutcomeOK
	if err != nil {
		set, value = t.errorSet, OutcomeError
	}
	if !t.cfg.campaignAttr {
		return metric.WithAttributeSet(set)
	}
	return metric.WithAttributes(AttrOutcome.String(value), AttrCampaignID.String(clip(campaignID)))
}

// appendUser adds the user attributes the options allow.
func (t *Telemetry) appendUser(attrs []attribute.KeyValue, userID string) []attribute.KeyValue {
	if userID == "" {
		return attrs
	}
	if t.cfg.userID {
		attrs = append(attrs, AttrUserID.String(clip(userID)))
	}
	if t.cfg.userHashKey != nil {
		attrs = append(attrs, AttrUserHash.String(HashUserID(t.cfg.userHashKey, userID)))
	}
	return attrs
}

// HashUserID returns the value [WithUserHash] records for userID: the
// first 16 bytes of HMAC-SHA256(key, userID), in hexadecimal. Hosts use it
// to find a known user's spans.
func HashUserID(key []byte, userID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(userID))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0])[:16])
}

// clip returns s as a string attribute: at most maxAttrLen bytes of valid
// UTF-8 without NUL bytes (see sanitize).
func clip(s string) string { return sanitize(s, maxAttrLen) }

// sanitize returns s as valid UTF-8 without NUL bytes, in at most limit
// bytes (any number when limit is negative). Each byte of s that is not
// part of valid UTF-8, and each NUL byte, becomes U+FFFD; a clipped string
// ends at a rune boundary. OTLP carries strings as protobuf strings, which
// must be valid UTF-8: one invalid attribute fails the export of its whole
// batch (opentelemetry-go issue #3021). NUL bytes are valid UTF-8, but
// text stores such as PostgreSQL refuse them, and the engine's own checks
// of events refuse them too. A valid string within the limit, the common
// case, is returned as is, without allocating.
func sanitize(s string, limit int) string {
	if (limit < 0 || len(s) <= limit) && textOK(s) {
		return s
	}
	if limit < 0 {
		limit = math.MaxInt
	}
	var b strings.Builder
	b.Grow(min(len(s), limit))
	for _, r := range s { // an invalid byte reads as one utf8.RuneError
		if r == 0 {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > limit {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// textOK tells whether s is valid UTF-8 without NUL bytes.
func textOK(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}
