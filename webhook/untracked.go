package webhook

import (
	"fmt"

	"github.com/campaignconnector/campaignconnector/event"
)

// UntrackedError reports the events of a request that a [Handler] could
// not track for a reason a retry may fix: the tracker failed (a store
// error), or the request's context ended before their turn. The handler
// answers 500, and passes the error to the [WithErrorFunc] callback, which
// finds it with errors.As.
//
// A provider that retries sends the events again, and the engine ignores
// the ones it has already seen by their ids. Not every provider does:
// Mailgun never retries a delivered event, and refuses nothing the
// handler could answer instead. A host that must not lose them keeps
// Events (a queue, a table) and tracks them later; tracking one twice
// within the engine's deduplication window is harmless.
type UntrackedError struct {
	// Events are the events not tracked, in the request's order. Events
	// tracked, and events rejected as invalid, are not among them.
	Events []event.Event
	// Err is what went wrong: the tracker's errors, or the context's,
	// joined.
	Err error
}

// Error implements error: `webhook: 2 events not tracked: …`.
func (e *UntrackedError) Error() string {
	if len(e.Events) == 1 {
		return fmt.Sprintf("webhook: 1 event not tracked: %v", e.Err)
	}
	return fmt.Sprintf("webhook: %d events not tracked: %v", len(e.Events), e.Err)
}

// Unwrap returns Err.
func (e *UntrackedError) Unwrap() error { return e.Err }
