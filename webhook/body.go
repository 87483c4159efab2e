package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/campaignconnector/campaignconnector/internal/linetext"
)

// EncodingError reports a request whose body comes encoded: a
// Content-Encoding other than identity, such as gzip. None of the
// providers compresses its webhooks, and the parsers check signatures
// over the body as the provider wrote it, so the [Handler] answers 415
// without reading the body: a proxy or client in between that compresses
// requests is to send them as they are.
type EncodingError struct {
	// Encoding is the first content coding of the request other than
	// identity, as the request names it (cut to 64 bytes).
	Encoding string
}

// Error implements error: `webhook: body sent with Content-Encoding
// "gzip": only a body sent as the provider wrote it can be checked`. It
// wraps no sentinel error: find it with errors.As.
func (e *EncodingError) Error() string {
	return fmt.Sprintf("webhook: body sent with Content-Encoding %q: only a body sent as the provider wrote it can be checked", e.Encoding)
}

// maxEncodingBytes bounds the coding an [EncodingError] repeats from a
// request.
const maxEncodingBytes = 64

// refusal is why the handler answers a request without parsing it.
type refusal struct {
	status int
	text   string // Response.Error
	err    error  // for the error callback
}

// readBody reads r's body, or says why it does not: an encoded body
// (415, unread), one over the size limit (413, unread when its
// Content-Length says so), one that did not arrive whole (503: its read
// timed out, it ended before its Content-Length, or its connection failed
// under the read), or one it could not read otherwise (400). A request
// without a body (a nil Body, as http.NewRequest leaves it) has an empty
// one.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *refusal) {
	if coding := contentCoding(r.Header); coding != "" {
		w.Header().Set("Accept-Encoding", "identity")
		return nil, &refusal{http.StatusUnsupportedMediaType,
			fmt.Sprintf("Content-Encoding %q not supported: send the body uncompressed", coding),
			&EncodingError{Encoding: coding}}
	}
	var err error
	var body []byte
	switch {
	case r.ContentLength > h.maxBody:
		// Refused unread: a client that waits for 100 Continue sends
		// nothing, and no other reads the limit's worth for nothing.
		err = &http.MaxBytesError{Limit: h.maxBody}
	case r.Body == nil:
		// No body, as http.NewRequest leaves a request given none (a
		// server's requests always have one): an empty body.
	default:
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return body, nil
	case errors.As(err, &tooBig):
		return nil, &refusal{http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", h.maxBody), err}
	case timedOut(err):
		// The server's ReadTimeout ended a slow upload, or a connection
		// stalled: sent again, the body may arrive whole. A 5xx, as
		// Amazon SNS retries no 4xx.
		return nil, &refusal{http.StatusServiceUnavailable, "reading body timed out: send it again", fmt.Errorf("webhook: reading body: %w", err)}
	case errors.Is(err, io.ErrUnexpectedEOF) || r.Context().Err() != nil:
		// The connection ended within the body (before its
		// Content-Length, or within a chunk): a network failure a retry
		// fixes (a client that leaves does not read the answer). net/http
		// also ends a request's context when a read from its connection
		// fails (cut, or past the ReadTimeout) where the read's own error
		// does not say so: after a chunked body's last chunk it reports a
		// trailer that ended early; an HTTP/2 client reset the stream.
		err = fmt.Errorf("webhook: reading body: %w", err)
		if ctx := r.Context(); ctx.Err() != nil {
			err = fmt.Errorf("%w (request ended: %w)", err, context.Cause(ctx))
		}
		return nil, &refusal{http.StatusServiceUnavailable, "body did not arrive whole: send it again", err}
	default:
		return nil, &refusal{http.StatusBadRequest, "reading body failed", fmt.Errorf("webhook: reading body: %w", err)}
	}
}

// timedOut reports whether err is a read's deadline passing: the
// server's ReadTimeout, or a timeout of the connection beneath.
func timedOut(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// contentCoding returns the first content coding named in h's
// Content-Encoding fields other than identity, or "" when there is none.
func contentCoding(h http.Header) string {
	for _, v := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return linetext.Clip(c, maxEncodingBytes)
			}
		}
	}
	return ""
}
