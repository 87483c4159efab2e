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
// status and in its exception event. A sender's error may quote a
// provider's whole reply (an HTML error page), and a custom store's or
// directory's anything: hundreds of kilobytes, which the span would carry
// twice. The start of an error says what went wrong.
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
//
// Every double quote that %q could have opened (one not escaped by a
// backslash) is tried as the start of a user's ID, not only those left
// after the quoted strings before it: a quote the text does not balance
// (invalid character '"') must not hide the ID after it. A try reads at
// most the length of the longest user's ID as %q can write it, so that the
// scan stays linear on a text of hundreds of kilobytes of quotes.
func redactUsers(msg string, users map[string]bool) string {
	longest := 0
	for u := range users {
		longest = max(longest, len(u))
	}
	window := 2 + 4*longest // %q writes a byte in at most 4 ("\xff")
	var b strings.Builder
	last := 0 // msg[:last] is in b
	for i := 0; i < len(msg); {
		j := strings.IndexByte(msg[i:], '"')
		if j < 0 {
			break
		}
		i += j
		if escaped(msg, i) {
			i++
			continue
		}
		quoted, err := strconv.QuotedPrefix(msg[i:min(len(msg), i+window)])
		if err != nil {
			i++
			continue
		}
		s, err := strconv.Unquote(quoted)
		if err != nil || s == "" || !users[s] {
			// Its closing quote may open the next string, or the
			// ID this one stands before.
			i++
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(msg))
		}
		b.WriteString(msg[last:i])
		b.WriteString(redactedUser)
		last = i + len(quoted)
		i = last
	}
	if last == 0 {
		return msg
	}
	b.WriteString(msg[last:])
	return b.String()
}

// escaped reports whether msg[i] follows an odd run of backslashes: a
// quote inside a quoted string, which opens none.
func escaped(msg string, i int) bool {
	n := 0
	for i > 0 && msg[i-1] == '\\' {
		n++
		i--
	}
	return n%2 == 1
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
