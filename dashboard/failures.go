package dashboard

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
)

// failures gathers the store failures one request meets, so that a page
// whose parts fail one after the other (every part of the health page
// while the store does not answer) logs one Error line, under one
// reference, instead of a line per part.
type failures struct {
	mu   sync.Mutex
	ref  string
	errs []error
	req  *http.Request // the request as the page saw it, named in the line
	// client is the request's context as the server gave it, before the
	// store timeout: it ends with context.Canceled when the client leaves.
	client context.Context
}

// failuresKey is the context key of a request's failures.
type failuresKey struct{}

// withFailures returns r with a new, empty record of failures, and the
// record: ServeHTTP logs it once the page is written.
func withFailures(r *http.Request) (*http.Request, *failures) {
	f := &failures{client: r.Context()}
	return r.WithContext(context.WithValue(r.Context(), failuresKey{}, f)), f
}

// add records err, met by the page serving r, and returns the request's
// reference.
func (f *failures) add(r *http.Request, err error) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ref == "" {
		f.ref, f.req = newRef(), r
	}
	f.errs = append(f.errs, err)
	return f.ref
}

// log writes the request's failures, if any, as one line: the errors one
// after the other, in the order the page met them. The line is at Error,
// unless the client left and every read failed for that reason alone: no
// one reads that page, and the client may have left for reasons of its
// own, so the line is at Warn, where an alert on Error lines does not see
// it; but the reads were still waiting for the store when it left (a
// browser or a probe that gave up on a hung store), which an operator
// must see, so not at Info.
func (f *failures) log(h *handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) == 0 {
		return
	}
	level := slog.LevelError
	if f.clientLeft() {
		level = slog.LevelWarn
	}
	h.logRef(f.req, level, errorsText(f.errs), f.ref)
}

// clientLeft reports whether the client left (its context was cancelled)
// and every failure is that cancellation.
func (f *failures) clientLeft() bool {
	if !errors.Is(f.client.Err(), context.Canceled) {
		return false
	}
	for _, err := range f.errs {
		if !errors.Is(err, context.Canceled) {
			return false
		}
	}
	return true
}

// errorsText joins the texts of errs with "; ", keeping one line per
// request in a text log (errors.Join would separate them with newlines).
// A text met again is written once, with how many reads failed with it:
// while the store does not answer, each read fails the same way.
func errorsText(errs []error) string {
	var texts []string
	counts := map[string]int{}
	for _, err := range errs {
		t := err.Error()
		if counts[t] == 0 {
			texts = append(texts, t)
		}
		counts[t]++
	}
	for i, t := range texts {
		if n := counts[t]; n > 1 {
			texts[i] = fmt.Sprintf("%s (%d reads)", t, n)
		}
	}
	return strings.Join(texts, "; ")
}

// failureRef records err as one of r's failures and returns the reference
// the page shows for it. Outside a request that ServeHTTP gathers the
// failures of, it logs err at once under a reference of its own.
func (h *handler) failureRef(r *http.Request, err error) string {
	if f, ok := r.Context().Value(failuresKey{}).(*failures); ok {
		return f.add(r, err)
	}
	return h.logError(r, err)
}

// logError logs err at Error under a new reference, and returns the
// reference.
func (h *handler) logError(r *http.Request, err error) string {
	ref := newRef()
	h.logRef(r, slog.LevelError, err.Error(), ref)
	return ref
}

// logRef logs the error text msg at level under reference ref.
func (h *handler) logRef(r *http.Request, level slog.Level, msg, ref string) {
	h.cfg.logger.LogAttrs(r.Context(), level, "campaignconnector dashboard: "+r.Method+" "+r.URL.Path,
		slog.String("error", msg), slog.String("ref", ref))
}

// refLen is the length of the references newRef makes.
const refLen = 10

// newRef returns a new reference to a log line: refLen characters of
// base32, unguessable, so that a page's reference names one line.
func newRef() string { return rand.Text()[:refLen] }

// isRef reports whether s has the form of a reference newRef makes (a
// page shows one it reads from its address only then).
func isRef(s string) bool {
	if len(s) != refLen {
		return false
	}
	for _, c := range []byte(s) {
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}
