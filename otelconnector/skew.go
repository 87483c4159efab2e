package otelconnector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"go.opentelemetry.io/otel/metric"
)

// MetricClockSkew reports how far an engine's clock is ahead of its
// store's server clock (Float64ObservableGauge, s).
const MetricClockSkew = "campaignconnector.clock.skew"

// ClockSkewSource is what [Telemetry.ObserveClockSkew] reads:
// *connector.Engine satisfies it. A source that also has a Namespace()
// string method gets its namespace as the [AttrNamespace] attribute when
// it is not empty.
type ClockSkewSource interface {
	ClockSkew(ctx context.Context) (time.Duration, error)
}

// ObserveClockSkew registers src with [MetricClockSkew]: at each
// collection, the gauge reports src's ClockSkew, in seconds: how far the
// engine's clock is ahead of the store's server clock (negative when it
// is behind). Engines sharing a store agree on due times and leases only
// as far as their clocks agree, and the difference between two replicas'
// readings is how far apart their clocks are (see connector's
// Engine.ClockSkew). Call it once per engine, next to
// [Telemetry.ObservePending]; unregister with the returned registration
// when the engine goes away.
//
// A store without a server clock (the memory store, SQLite: ClockSkew
// returns connector.ErrNoServerClock) has no gauge: its collections
// record nothing for src and report no error, so a host may register its
// engine whatever its store. Registering reads nothing: the first reading
// is the first collection's.
//
// Reading src runs in the metric reader's collection, with its context,
// bounded by the stats timeout (see [WithStatsTimeout]): each reading is
// three round trips to the store's server. When it fails or takes
// longer, the observation is skipped for that collection and the error
// goes to the error handler (see [WithErrorHandler]): the other metrics
// are still exported. A panic of src's ClockSkew is such an error.
//
// It fails with [ErrNilSource] when src is nil or a nil *connector.Engine.
// A nil pointer of another type is not caught here: when its Namespace
// method panics, ObserveClockSkew returns the panic as an error;
// otherwise each collection hands the panic of its ClockSkew to the
// error handler.
func (t *Telemetry) ObserveClockSkew(src ClockSkewSource) (metric.Registration, error) {
	t.ready()
	attrs, err := sourceAttrs("ObserveClockSkew", src)
	if err != nil {
		return nil, err
	}
	opt := metric.WithAttributeSet(attrs)
	timeout := t.cfg.statsTimeout
	reg, err := t.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		skew, err := protect(func() (time.Duration, error) { return src.ClockSkew(ctx) })
		switch {
		case errors.Is(err, connector.ErrNoServerClock):
			// Not a failure: there is no server clock to compare with.
		case err != nil:
			t.cfg.handle(fmt.Errorf("otelconnector: reading the clock skew: %w", err))
		default:
			o.ObserveFloat64(t.clockSkew, skew.Seconds(), opt)
		}
		return nil
	}, t.clockSkew)
	if err != nil {
		return nil, fmt.Errorf("otelconnector: ObserveClockSkew: %w", err)
	}
	return reg, nil
}

// newClockSkewGauge creates the clock skew gauge.
func (t *Telemetry) newClockSkewGauge() error {
	var err error
	t.clockSkew, err = t.meter.Float64ObservableGauge(MetricClockSkew,
		metric.WithDescription("How far the engine's clock is ahead of the store's server clock (negative when behind)."),
		metric.WithUnit("s"))
	return err
}
