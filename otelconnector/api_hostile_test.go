package otelconnector_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// A nil pointer in the Clock, MeterProvider or TracerProvider interface
// is refused like a nil interface, naming its type, instead of New
// panicking on it (the providers) or a send panicking later (the clock).
func TestNilPointerOptions(t *testing.T) {
	var (
		mock *clock.Mock
		mp   *sdkmetric.MeterProvider
		tp   *sdktrace.TracerProvider
	)
	for name, c := range map[string]struct {
		opt  otelconnector.Option
		want string
	}{
		"clock":           {otelconnector.WithClock(mock), "nil clock (a nil *clock.Mock)"},
		"meter provider":  {otelconnector.WithMeterProvider(mp), "nil meter provider (a nil *metric.MeterProvider)"},
		"tracer provider": {otelconnector.WithTracerProvider(tp), "nil tracer provider (a nil *trace.TracerProvider)"},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("New panicked: %v", r)
				}
			}()
			_, err := otelconnector.New(c.opt)
			if !errors.Is(err, otelconnector.ErrInvalidOption) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want ErrInvalidOption saying %q", err, c.want)
			}
		})
	}
}
