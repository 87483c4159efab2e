package otelconnector

import (
	"context"
	"fmt"

	"github.com/campaignconnector/campaignconnector/store"
	"go.opentelemetry.io/otel/metric"
)

// StatsSource is what [Telemetry.ObservePending] reads: *connector.Engine
// satisfies it. A source that also has a Namespace() string method (the
// engine does) gets its namespace as the [AttrNamespace] attribute when it
// is not empty, so that engines of several namespaces report separate
// series.
type StatsSource interface {
	Stats(ctx context.Context) (store.Stats, error)
}

// ObservePending registers src with [MetricPendingDeliveries]: at each
// collection, the gauge reports src's Stats().Pending. Call it once per
// engine (or per namespace: engines sharing one report the same value);
// unregister with the returned registration when the engine goes away.
//
// Reading src runs in the metric reader's collection, with its context,
// bounded by the stats timeout (see [WithStatsTimeout]). When it fails or
// takes longer, the observation is skipped for that collection and the
// error goes to the error handler (see [WithErrorHandler]): the other
// metrics are still exported, which they would not be if the callback
// returned the error to the SDK. A panic of src's Stats is such an error.
//
// It fails with [ErrNilSource] when src is nil or a nil *connector.Engine.
// A nil pointer of another type is not caught here: when its Namespace
// method panics, ObservePending returns the panic as an error; otherwise
// each collection hands the panic of its Stats to the error handler.
func (t *Telemetry) ObservePending(src StatsSource) (metric.Registration, error) {
	t.ready()
	attrs, err := sourceAttrs("ObservePending", src)
	if err != nil {
		return nil, err
	}
	opt := metric.WithAttributeSet(attrs)
	timeout := t.cfg.statsTimeout
	reg, err := t.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		s, err := protect(func() (store.Stats, error) { return src.Stats(ctx) })
		if err != nil {
			t.cfg.handle(fmt.Errorf("otelconnector: reading pending deliveries: %w", err))
			return nil
		}
		o.ObserveInt64(t.pending, s.Pending, opt)
		return nil
	}, t.pending)
	if err != nil {
		return nil, fmt.Errorf("otelconnector: ObservePending: %w", err)
	}
	return reg, nil
}
