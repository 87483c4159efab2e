package otelconnector_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// A store out of reach must not hold the collection: the Prometheus
// exporter collects with a context that has no deadline, and the meter
// provider's lock, held meanwhile, keeps every other collection and each
// Unregister waiting too. The read of Stats gives up after the stats
// timeout; the other metrics are exported, and the error is handled.
func TestHungStoreDoesNotHoldTheCollection(t *testing.T) {
	for name, c := range map[string]struct {
		opts []otelconnector.Option
		want time.Duration
	}{
		"default":          {nil, otelconnector.DefaultStatsTimeout},
		"WithStatsTimeout": {[]otelconnector.Option{otelconnector.WithStatsTimeout(time.Second)}, time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var (
					mu      sync.Mutex
					handled []error
				)
				reader := sdkmetric.NewManualReader()
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
				defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
				opts := append([]otelconnector.Option{
					otelconnector.WithMeterProvider(mp),
					otelconnector.WithTracerProvider(tracenoop.NewTracerProvider()),
					otelconnector.WithErrorHandler(func(err error) {
						mu.Lock()
						handled = append(handled, err)
						mu.Unlock()
					}),
				}, c.opts...)
				tel, err := otelconnector.New(opts...)
				require.NoError(t, err)
				e := &env{t: t, tel: tel, reader: reader}
				// The store answers no query until its caller gives up.
				reg, err := tel.ObservePending(statsFunc(func(ctx context.Context) (store.Stats, error) {
					<-ctx.Done()
					return store.Stats{}, ctx.Err()
				}))
				require.NoError(t, err)
				tel.Observe(rule.Decision{Kind: rule.Scheduled, CampaignID: "resend"})

				start := time.Now()
				ms := e.collect()
				require.Equal(t, c.want, time.Since(start), "the collection waits for the stats timeout")
				require.Nil(t, e.pending(ms), "no observation")
				require.Equal(t, map[string]int64{"scheduled": 1}, e.decisionCounts(ms), "the other metrics are exported")
				mu.Lock()
				require.Len(t, handled, 1)
				require.ErrorIs(t, handled[0], context.DeadlineExceeded)
				require.ErrorContains(t, handled[0], "otelconnector: reading pending deliveries: ")
				mu.Unlock()
				require.NoError(t, reg.Unregister())
			})
		})
	}
}

func TestWithStatsTimeoutRejectsNonPositive(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		_, err := otelconnector.New(otelconnector.WithStatsTimeout(d))
		require.ErrorIs(t, err, otelconnector.ErrInvalidOption)
		require.ErrorContains(t, err, "stats timeout")
	}
}
