package connector

import (
	"context"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/nilval"
)

// Instrumentation is called around each Track and each send, for tracing
// (the nested module otelconnector implements it with OpenTelemetry spans).
// Each Start method returns the context to use for the operation and a
// function the engine calls with the operation's error when it ends, once:
// also when a callback panics during a Track or TrackAll (an observer, the
// directory, the store), with an error saying so, before the panic goes
// on to the caller.
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
		if nilval.Func(i) {
			return errorf("nil instrumentation%s", nilType(i))
		}
		cfg.instrument = i
		return nil
	}
}

// trackSpan is track in in's StartTrack. failed is TrackAll's (nil for
// Track): see track.
func (e *Engine) trackSpan(ctx context.Context, in Instrumentation, ev event.Event, failed *failures) error {
	ctx, end := in.StartTrack(ctx, ev)
	ended := false
	defer func() {
		if !ended { // a panic (an observer's, the directory's, the store's) goes on
			end(errPanicked)
		}
	}()
	err := e.track(ctx, ev, failed)
	ended = true
	end(err)
	return err
}
