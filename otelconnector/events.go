package otelconnector

import (
	"fmt"

	"github.com/campaignconnector/campaignconnector/store"
	"go.opentelemetry.io/otel/metric"
)

// Event metric names; the package documentation says what each counts.
const (
	// MetricEventsTracked counts the events an engine took
	// (Int64ObservableCounter, {event}).
	MetricEventsTracked = "campaignconnector.events.tracked"
	// MetricEventsUnheard counts the tracked events no follow-up could use
	// (Int64ObservableCounter, {event}).
	MetricEventsUnheard = "campaignconnector.events.unheard"
	// MetricEventsDuplicate counts the tracked events whose ID was already
	// processed (Int64ObservableCounter, {event}).
	MetricEventsDuplicate = "campaignconnector.events.duplicate"
)

// EventCountsSource is what [Telemetry.ObserveEvents] reads:
// *connector.Engine satisfies it (its counts cost no store call). A source
// that also has a Namespace() string method gets its namespace as the
// [AttrNamespace] attribute when it is not empty.
type EventCountsSource interface {
	EventCounts() store.EventCounts
}

// ObserveEvents registers src with the event counters: at each
// collection, [MetricEventsTracked], [MetricEventsUnheard] and
// [MetricEventsDuplicate] report src's EventCounts. (Ignored events, by
// reason, are the decisions of kind "ignored" that [MetricDecisions]
// counts.) The counts are the engine's own, since it was built: call
// ObserveEvents once per engine (the counts of engines of one namespace
// in one process add up; an engine registered twice is counted once, until
// its last registration is unregistered); unregister with the returned
// registration when the engine goes away.
//
// A counter never goes down while it is exported: when one of several
// engines of a namespace is unregistered, its counts up to then stay in
// the namespace's sum, which a back end would otherwise read as a reset
// of the counter and add the remaining engines' whole counts to its rate.
// Once the last engine of a namespace is unregistered, the namespace's
// series are no longer reported, and those of an engine registered later
// start again from its counts (a reset).
//
// It fails with [ErrNilSource] when src is nil or a nil *connector.Engine.
// A nil pointer of another type is not caught here: when its Namespace
// method panics, ObserveEvents returns the panic as an error; otherwise
// each collection hands the panic of its EventCounts to the error handler
// (see [WithErrorHandler]) and skips the observations of its namespace.
func (t *Telemetry) ObserveEvents(src EventCountsSource) (metric.Registration, error) {
	t.ready()
	attrs, err := sourceAttrs("ObserveEvents", src)
	if err != nil {
		return nil, err
	}
	if err := t.events.start(t); err != nil {
		return nil, fmt.Errorf("otelconnector: ObserveEvents: %w", err)
	}
	return t.events.add(src, attrs), nil
}

// newEventCounters creates the event counters.
func (t *Telemetry) newEventCounters() error {
	var errs [3]error
	t.tracked, errs[0] = t.meter.Int64ObservableCounter(MetricEventsTracked,
		metric.WithDescription("Events the campaign connector engine took, since it started."),
		metric.WithUnit("{event}"))
	t.unheard, errs[1] = t.meter.Int64ObservableCounter(MetricEventsUnheard,
		metric.WithDescription("Tracked events no follow-up could use (no decision, no store write)."),
		metric.WithUnit("{event}"))
	t.duplicates, errs[2] = t.meter.Int64ObservableCounter(MetricEventsDuplicate,
		metric.WithDescription("Tracked events whose ID was already processed for their user."),
		metric.WithUnit("{event}"))
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
