package webhook

import (
	"encoding/json"
	"errors"
	"net/http"
)

// ReplyFunc writes a [Handler]'s answer to r: the status the handler chose
// and what it would say, resp. See [WithReplyFunc].
type ReplyFunc func(w http.ResponseWriter, r *http.Request, status int, resp Response)

// WithReplyFunc sets how the handler writes its answers, in place of resp
// as JSON with the status: for a provider that reads the answer in a
// format of its own. Twilio wants TwiML in answer to an incoming message,
// and logs error 12300 in its console for a JSON one; an f that writes an
// empty TwiML response with the status fits it:
//
//	w.Header().Set("Content-Type", "text/xml")
//	w.WriteHeader(status)
//	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
//
// f is called once per request, after the error callback
// ([WithErrorFunc]), on the request's goroutine; the Allow header of a 405
// is already set. Writing the status as given keeps the provider's retries
// ([Handler]'s status codes say which answers ask for one): a body f
// writes before any status goes with the handler's status, not with
// net/http's implicit 200, and an f that writes nothing leaves the answer
// with that status and no body. A nil f is refused. Defaults to JSON.
func WithReplyFunc(f ReplyFunc) Option {
	return func(h *Handler) error {
		if f == nil {
			return errors.New("webhook: nil reply func")
		}
		h.write = f
		return nil
	}
}

// reply tells the error callback about err, if any, and writes resp.
func (h *Handler) reply(w http.ResponseWriter, r *http.Request, status int, resp Response, err error) {
	if err != nil && h.onError != nil {
		h.onError(r, err)
	}
	if h.write != nil {
		sw := &statusWriter{ResponseWriter: w, status: status}
		h.write(sw, r, status, resp)
		if !sw.wrote {
			w.WriteHeader(status)
		}
		return
	}
	writeJSON(w, status, resp)
}

// statusWriter is the ResponseWriter a ReplyFunc writes to: a body
// written before any status goes with the handler's, so that a func that
// forgets WriteHeader turns no 500 into a 200 (which would end the
// provider's retries of events that were not tracked).
type statusWriter struct {
	http.ResponseWriter
	status int  // the handler's
	wrote  bool // a final status was written
}

// WriteHeader implements http.ResponseWriter.
func (w *statusWriter) WriteHeader(code int) {
	if code >= 200 { // 1xx answers are not final
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter, with the handler's status if none
// was written.
func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(w.status)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the server's ResponseWriter, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeJSON writes the handler's answers unless WithReplyFunc sets a
// ReplyFunc: resp as JSON, with status.
func writeJSON(w http.ResponseWriter, status int, resp Response) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp) // the client may be gone: nothing to do about it
}
