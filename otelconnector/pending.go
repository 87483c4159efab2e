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
// series. A source that also has a PendingCount(context.Context) (int64,
// error) method (the engine does: connector's Engine.PendingCount) is
// read through it instead of Stats; so is a type that embeds
// *connector.Engine and overrides Stats alone, which gets the engine's
// PendingCount with the embedding.
type StatsSource interface {
	Stats(ctx context.Context) (store.Stats, error)
}

// pendingCounter is the cheaper read of a [StatsSource] that has it: the
// pending deliveries alone, where Stats also counts the users, campaigns
// and interactions of the namespace.
type pendingCounter interface {
	PendingCount(ctx context.Context) (int64, error)
}

// pendingReader returns how ObservePending reads src: its PendingCount
// when it has one, else the Pending of its Stats.
func pendingReader(src StatsSource) func(ctx context.Context) (int64, error) {
	if pc, ok := src.(pendingCounter); ok {
		// Called in the closure, under the caller's recover: the method
		// value of a nil pointer with value receivers would panic here.
		return func(ctx context.Context) (int64, error) { return pc.PendingCount(ctx) }
	}
	return func(ctx context.Context) (int64, error) {
		s, err := src.Stats(ctx)
		return s.Pending, err
	}
}

// ObservePending registers src with [MetricPendingDeliveries]: at each
// collection, the gauge reports src's PendingCount() when src has that
// method (connector's Engine does: with the stores of this repository, a
// count of the pending deliveries alone), else its Stats().Pending, which
// counts the users, campaigns and interactions too. Call it once per
// engine (or per namespace: engines sharing one report the same value);
// unregister with the returned registration when the engine goes away.
//
// Reading src runs in the metric reader's collection, with its context,
// bounded by the stats timeout (see [WithStatsTimeout]). When it fails or
// takes longer, the observation is skipped for that collection and the
// error goes to the error handler (see [WithErrorHandler]): the other
// metrics are still exported, which they would not be if the callback
// returned the error to the SDK. A panic of src's PendingCount or Stats is
// such an error.
//
// It fails with [ErrNilSource] when src is nil or a nil *connector.Engine.
// A nil pointer of another type is not caught here: when its Namespace
// method panics, ObservePending returns the panic as an error; otherwise
// each collection hands the panic of its PendingCount or Stats to the
// error handler.
func (t *Telemetry) ObservePending(src StatsSource) (metric.Registration, error) {
	t.ready()
	attrs, err := sourceAttrs("ObservePending", src)
	if err != nil {
		return nil, err
	}
	opt := metric.WithAttributeSet(attrs)
	timeout := t.cfg.statsTimeout
	read := pendingReader(src)
	reg, err := t.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		n, err := protect(func() (int64, error) { return read(ctx) })
		if err != nil {
			t.cfg.handle(fmt.Errorf("otelconnector: reading pending deliveries: %w", err))
			return nil
		}
		o.ObserveInt64(t.pending, n, opt)
		return nil
	}, t.pending)
	if err != nil {
		return nil, fmt.Errorf("otelconnector: ObservePending: %w", err)
	}
	return reg, nil
}
