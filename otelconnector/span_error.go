package otelconnector

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/campaignconnector/campaignconnector/event"

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
// length, followed by its full size. users, when not nil, lists the
// user IDs the text must not quote (see redactUsers).
func endSpan(span trace.Span, err error, users func() map[string]bool) {
	if err != nil {
		msg := err.Error()
		text := msg
		if users != nil && strings.IndexByte(msg, '"') >= 0 {
			text = redactUsers(msg, users())
		}
		if text == msg && len(msg) <= maxErrorLen && textOK(msg) {
			span.RecordError(err)
		} else {
			// What RecordError records, with the text made valid,
			// bounded and without user IDs.
			text = errorText(text)
			span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(
				semconv.ExceptionType(errorType(err)),
				semconv.ExceptionMessage(text)))
		}
		span.SetStatus(codes.Error, text)
	}
	span.End()
}

// redactedUser stands for a user ID in the text of an error on a span.
const redactedUser = "<user>"

// redactUsers returns msg with each Go-quoted string of it ("ann", as
// fmt's %q writes it) that is one of users replaced by [redactedUser].
// The engine's errors quote user IDs so (connector: directory: is "ann" in
// "vip"), and so do most errors of Go code; a span carries no user ID
// unless the host asks (WithUserID).
func redactUsers(msg string, users map[string]bool) string {
	var b strings.Builder
	last := 0 // msg[:last] is in b
	for i := 0; i < len(msg); {
		j := strings.IndexByte(msg[i:], '"')
		if j < 0 {
			break
		}
		i += j
		quoted, err := strconv.QuotedPrefix(msg[i:])
		if err != nil {
			i++
			continue
		}
		if s, err := strconv.Unquote(quoted); err == nil && s != "" && users[s] {
			if b.Len() == 0 {
				b.Grow(len(msg))
			}
			b.WriteString(msg[last:i])
			b.WriteString(redactedUser)
			last = i + len(quoted)
		}
		i += len(quoted)
	}
	if last == 0 {
		return msg
	}
	b.WriteString(msg[last:])
	return b.String()
}

// oneUser is the users argument of endSpan for a span about userID.
func (t *Telemetry) oneUser(userID string) func() map[string]bool {
	if t.cfg.userID || userID == "" {
		return nil
	}
	return func() map[string]bool { return map[string]bool{userID: true} }
}

// eventUsers is the users argument of endSpan for a span about events.
func (t *Telemetry) eventUsers(events []event.Event) func() map[string]bool {
	if t.cfg.userID {
		return nil
	}
	return func() map[string]bool {
		users := make(map[string]bool, len(events))
		for i := range events {
			users[events[i].UserID] = true
		}
		return users
	}
}

// errorText returns msg made valid (see sanitize) and, when that is over
// maxErrorLen bytes, its first maxErrorLen bytes followed by its size:
// "provider answered 503: <p>Service Unavailable… (416023 bytes in all)".
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
