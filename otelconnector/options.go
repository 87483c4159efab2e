package otelconnector

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ErrInvalidOption reports an option given to [New] that cannot be used
// (a nil provider, an empty hash key…).
var ErrInvalidOption = errors.New("otelconnector: invalid option")

// Option configures a [Telemetry]; pass options to [New].
type Option func(*config) error

// Clock is what a [Telemetry] needs of a clock to time sends. Both
// clock.New() and clock.NewMock() from github.com/benbjohnson/clock
// satisfy it.
type Clock interface {
	Now() time.Time
}

type config struct {
	meterProvider  metric.MeterProvider
	tracerProvider trace.TracerProvider
	campaignAttr   bool
	userID         bool
	userHashKey    []byte
	clock          Clock
	handle         func(error)
	statsTimeout   time.Duration
}

func defaultConfig() config {
	return config{clock: systemClock{}, handle: otel.Handle, statsTimeout: DefaultStatsTimeout}
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
}

// nilValue reports whether v is nil or holds a nil pointer, which would
// panic when used, and names its type for the error: " (a nil *clock.Mock)".
func nilValue(v any) (string, bool) {
	if v == nil {
		return "", true
	}
	if r := reflect.ValueOf(v); r.Kind() == reflect.Pointer && r.IsNil() {
		return fmt.Sprintf(" (a nil %T)", v), true
	}
	return "", false
}

// WithMeterProvider sets where metrics go. Defaults to the global provider
// (otel.GetMeterProvider() at the time New is called; the global delegates
// to an SDK installed later).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(cfg *config) error {
		if typ, isNil := nilValue(mp); isNil {
			return errorf("nil meter provider%s", typ)
		}
		cfg.meterProvider = mp
		return nil
	}
}

// WithTracerProvider sets where spans go. Defaults to the global provider
// (otel.GetTracerProvider() at the time New is called; the global
// delegates to an SDK installed later).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(cfg *config) error {
		if typ, isNil := nilValue(tp); isNil {
			return errorf("nil tracer provider%s", typ)
		}
		cfg.tracerProvider = tp
		return nil
	}
}

// WithCampaignAttribute adds the campaign ID ([AttrCampaignID]) to the
// decision counter and to both histograms. Off by default: each campaign
// then has its own series, which a host with many campaigns (or campaigns
// created per customer) may not afford. Spans always carry the campaign.
//
// Only the campaigns the engine knows get series: the decisions about
// events naming an unknown campaign (kind "ignored", reason
// "unknown_campaign") are counted without [AttrCampaignID], as their
// campaign ID is whatever the event's author wrote (see the package
// documentation).
func WithCampaignAttribute() Option {
	return func(cfg *config) error {
		cfg.campaignAttr = true
		return nil
	}
}

// WithUserID records the user's ID as is, in the "user.id" attribute of
// every span. Off by default: user IDs are personal data (see the package
// documentation); prefer [WithUserHash] unless the tracing back end is
// allowed to hold them.
func WithUserID() Option {
	return func(cfg *config) error {
		cfg.userID = true
		return nil
	}
}

// WithUserHash records, in the "user.hash" attribute of every span, a
// keyed hash of the user's ID: the first 16 bytes of HMAC-SHA256(key,
// user ID), in hexadecimal. The same user always gets the same hash, so
// one user's spans can be found together, but without the key the hash
// cannot be turned back into the ID, not even by hashing a list of known
// e-mail addresses. Keep the key secret and stable (rotating it breaks
// correlation across the change). The key must not be empty.
func WithUserHash(key []byte) Option {
	return func(cfg *config) error {
		if len(key) == 0 {
			return errorf("empty user hash key")
		}
		cfg.userHashKey = append([]byte(nil), key...)
		return nil
	}
}

// WithClock sets the clock that times sends for [MetricSendDuration].
// Defaults to the system clock. Spans keep the tracer's own timestamps.
func WithClock(c Clock) Option {
	return func(cfg *config) error {
		if typ, isNil := nilValue(c); isNil {
			return errorf("nil clock%s", typ)
		}
		cfg.clock = c
		return nil
	}
}

// WithErrorHandler sets what receives the errors a [Telemetry] meets but
// cannot return, such as a failure to read the pending deliveries during a
// collection. Defaults to otel.Handle, the OpenTelemetry global error
// handler.
func WithErrorHandler(h func(error)) Option {
	return func(cfg *config) error {
		if h == nil {
			return errorf("nil error handler")
		}
		cfg.handle = h
		return nil
	}
}

// DefaultStatsTimeout is how long a collection waits, by default, for a
// source registered with [Telemetry.ObservePending] to read its
// PendingCount or Stats, and for one registered with
// [Telemetry.ObserveClockSkew] to read its ClockSkew.
const DefaultStatsTimeout = 5 * time.Second

// WithStatsTimeout sets how long a collection waits for each source
// registered with [Telemetry.ObservePending] to read its PendingCount or
// Stats (a count of the store's rows), and for each registered with
// [Telemetry.ObserveClockSkew] to read its ClockSkew, before it gives up
// on that observation. Defaults to [DefaultStatsTimeout]; d must be
// positive.
//
// The read runs inside the metric reader's collection, which holds the
// meter provider's lock: while it waits, no other collection runs, and
// neither registering nor unregistering a callback returns. A reader's
// context may have no deadline (the Prometheus exporter's has none), and
// a store out of reach may not answer for minutes: unbounded, the read
// would hold every metric of the process for as long, and a host's
// shutdown that unregisters the source with it. Bounded, the gauge is
// skipped for that collection, the error (context.DeadlineExceeded) goes
// to the error handler, and the other metrics are exported. The read's
// context ends at the earlier of this timeout and the reader's deadline;
// a source that ignores its context still holds the collection.
func WithStatsTimeout(d time.Duration) Option {
	return func(cfg *config) error {
		if d <= 0 {
			return errorf("stats timeout %v is not positive", d)
		}
		cfg.statsTimeout = d
		return nil
	}
}
