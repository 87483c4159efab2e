package otelconnector

import (
	"fmt"
	"reflect"

	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// maxErrorLen bounds the text of an error recorded on a span, in its
// status and in its exception event. TrackAll's error joins one per event
// not tracked: for a webhook's batch of thousands of events that all
// failed (the store is down), hundreds of kilobytes, which the span would
// carry twice, at each of the provider's retries. The first errors say
// what went wrong; the rest repeat it.
const maxErrorLen = 4 << 10

// endSpan ends span, recording err and the Error status when err is set.
// The error's text may quote input (an invalid event's, a provider's
// reply): what is not valid UTF-8 in it is replaced, as in attributes
// (see sanitize), and a text over maxErrorLen bytes is cut to that
// length, followed by its full size.
func endSpan(span trace.Span, err error) {
	if err != nil {
		msg := err.Error()
		if len(msg) <= maxErrorLen && textOK(msg) {
			span.RecordError(err)
		} else {
			// What RecordError records, with the text made valid and
			// bounded.
			msg = errorText(msg)
			span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(
				semconv.ExceptionType(errorType(err)),
				semconv.ExceptionMessage(msg)))
		}
		span.SetStatus(codes.Error, msg)
	}
	span.End()
}

// errorText returns msg made valid (see sanitize) and, when that is over
// maxErrorLen bytes, its first maxErrorLen bytes followed by its size:
// "connector: event 0: event: kind: … (408889 bytes in all)".
func errorText(msg string) string {
	msg = sanitize(msg, -1)
	if len(msg) <= maxErrorLen {
		return msg
	}
	return fmt.Sprintf("%s… (%d bytes in all)", sanitize(msg, maxErrorLen), len(msg))
}

// errorType names err's type as the SDK's RecordError does in the
// exception.type attribute: "*errors.errorString", "example.com/pkg.Error".
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.PkgPath() == "" && t.Name() == "" {
		return t.String()
	}
	return t.PkgPath() + "." + t.Name()
}
