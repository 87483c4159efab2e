package otelconnector

import (
	"context"
	"fmt"

	"github.com/campaignconnector/campaignconnector/store"
	"go.opentelemetry.io/otel/attribute"
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
// Reading src runs in the metric reader's collection, with its context.
// When it fails, the observation is skipped for that collection and the
// error goes to the error handler (see [WithErrorHandler]): the other
// metrics are still exported, which they would not be if the callback
// returned the error to the SDK.
func (t *Telemetry) ObservePending(src StatsSource) (metric.Registration, error) {
	if src == nil {
		return nil, fmt.Errorf("otelconnector: ObservePending: nil source")
	}
	attrs := attribute.NewSet()
	if n, ok := src.(interface{ Namespace() string }); ok && n.Namespace() != "" {
		attrs = attribute.NewSet(AttrNamespace.String(clip(n.Namespace())))
	}
	opt := metric.WithAttributeSet(attrs)
	reg, err := t.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		s, err := src.Stats(ctx)
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
