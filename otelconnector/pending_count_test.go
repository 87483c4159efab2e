package otelconnector_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// countSource is a source with the cheaper read: count answers
// PendingCount, and Stats, which ObservePending must not call, counts its
// calls and reports 7.
type countSource struct {
	count func(ctx context.Context) (int64, error)
	mu    sync.Mutex
	stats int
}

func (s *countSource) Stats(context.Context) (store.Stats, error) {
	s.mu.Lock()
	s.stats++
	s.mu.Unlock()
	return store.Stats{Pending: 7}, nil
}

func (s *countSource) PendingCount(ctx context.Context) (int64, error) { return s.count(ctx) }

// errorLog collects what the error handler gets.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) handle(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// A source with PendingCount is read through it, not through Stats, and
// its panics go to the error handler as Stats' do.
func TestPendingReadsPendingCountWhenTheSourceHasIt(t *testing.T) {
	var log errorLog
	e := newTelemetry(t, otelconnector.WithErrorHandler(log.handle))
	src := &countSource{count: func(context.Context) (int64, error) { return 42, nil }}
	reg, err := e.tel.ObservePending(src)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"": 42}, e.pending(e.collect()))
	require.Zero(t, src.stats, "Stats not read")
	require.NoError(t, reg.Unregister())

	panicking := &countSource{count: func(context.Context) (int64, error) { panic("store gone") }}
	reg, err = e.tel.ObservePending(panicking)
	require.NoError(t, err)
	require.Nil(t, e.pending(e.collect()), "no observation")
	errs := log.all()
	require.Len(t, errs, 1)
	require.EqualError(t, errs[0], "otelconnector: reading pending deliveries: panic: store gone")
	require.Zero(t, panicking.stats)
	require.NoError(t, reg.Unregister())
}

// The stats timeout bounds PendingCount as it bounds Stats.
func TestHungPendingCountDoesNotHoldTheCollection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log errorLog
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
		tel, err := otelconnector.New(otelconnector.WithMeterProvider(mp),
			otelconnector.WithTracerProvider(tracenoop.NewTracerProvider()),
			otelconnector.WithErrorHandler(log.handle), otelconnector.WithStatsTimeout(3*time.Second))
		require.NoError(t, err)
		e := &env{t: t, tel: tel, reader: reader}
		src := &countSource{count: func(ctx context.Context) (int64, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		}}
		reg, err := tel.ObservePending(src)
		require.NoError(t, err)

		start := time.Now()
		ms := e.collect()
		require.Equal(t, 3*time.Second, time.Since(start), "the collection waits for the stats timeout")
		require.Nil(t, e.pending(ms), "no observation")
		errs := log.all()
		require.Len(t, errs, 1)
		require.ErrorIs(t, errs[0], context.DeadlineExceeded)
		require.ErrorContains(t, errs[0], "otelconnector: reading pending deliveries: ")
		require.Zero(t, src.stats)
		require.NoError(t, reg.Unregister())
	})
}
