package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/internal/optionerr"
)

// New returns the dashboard of engine e as an http.Handler: server-rendered
// pages of its campaigns, a campaign's funnel and pending deliveries, a
// user's timeline and the engine's health. It is read-only unless
// [WithActions] is given. Mount it in the host's server:
//
//	h, err := dashboard.New(engine, dashboard.WithPrefix("/ops/campaigns"))
//	…
//	mux.Handle("/ops/campaigns/", h)
//
// The handler is safe for concurrent use. The counts it shows come from
// the store's decision tallies, shared by every engine of the namespace,
// so any replica serves the same figures.
//
// A nil e, and the first option New cannot use (a nil one, a value out
// of range, or an option that needs [WithActions] without it), are errors
// wrapping [ErrInvalidOption].
func New(e *connector.Engine, opts ...Option) (http.Handler, error) {
	if e == nil {
		return nil, optionerr.Mark(ErrInvalidOption, errors.New("dashboard: nil engine"))
	}
	return newHandler(engineSource{e}, opts...)
}

// handler serves the dashboard of one source.
type handler struct {
	src   source
	cfg   config
	csrf  *csrf // nil when actions are off
	pages *pages
	mux   http.Handler
	// healthRead is when the health page last read the store's figures,
	// in Unix nanoseconds on the engine's clock; 0: not yet. The page
	// says it while the store does not answer.
	healthRead atomic.Int64
	// stats shares the health page's reads of the store's figures.
	stats sharedStats
}

func newHandler(src source, opts ...Option) (*handler, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, optionError("nil option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pg, err := parsePages(cfg.location)
	if err != nil {
		return nil, err
	}
	h := &handler{src: src, cfg: cfg, pages: pg}
	if cfg.actions {
		if h.csrf, err = newCSRF(cfg.csrfKey); err != nil {
			return nil, err
		}
	}
	h.mux = h.routes()
	return h, nil
}

// contentSecurityPolicy lets a page load its own scripts, styles and
// images from where the dashboard is served and nothing from anywhere else,
// run no inline script, be framed by no one and post forms only to itself.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: under no-referrer a browser sends
	// "Origin: null" with the action forms' POSTs, which the cross-origin
	// check must refuse when the dashboard is served over plain HTTP (no
	// Sec-Fetch-Site then).
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if h.cfg.auth != nil && !h.cfg.auth.allows(r) {
		h.cfg.auth.challenge(w)
		return
	}
	if h.cfg.prefix == "" && !strings.HasPrefix(r.URL.Path, "/") {
		// Behind http.StripPrefix, which took the path's leading slash.
		// The path asked for tells where the mount point ended; without
		// it (a request built by the host's router), nothing does.
		asked, err := url.ParseRequestURI(r.RequestURI)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		switch esc := asked.EscapedPath(); {
		case r.URL.Path == "" && esc != "" && !strings.HasSuffix(esc, "/"):
			// "/ops/cc" under StripPrefix("/ops/cc"): the pages link
			// relative to the mount point's directory.
			target := url.URL{Path: path.Base(asked.Path) + "/", RawQuery: r.URL.RawQuery}
			hd.Set("Location", target.String())
			w.WriteHeader(http.StatusMovedPermanently)
			return
		case strings.HasSuffix(esc, "/"+r.URL.EscapedPath()) || esc == "" && r.URL.Path == "":
			// StripPrefix("/ops/cc/"): "/ops/cc/health" came as "health".
			r = withLeadingSlash(r)
		default:
			// "/ops/cchealth" under StripPrefix("/ops/cc"): not under the
			// mount point.
			http.NotFound(w, r)
			return
		}
	}
	if !strings.HasPrefix(r.URL.EscapedPath(), "/") {
		// "/ops/cc%2Fhealth" under StripPrefix("/ops/cc"): the slash after
		// the mount point was part of a name.
		http.NotFound(w, r)
		return
	}
	if p := r.URL.Path; p != "" && path.Clean(p) != p && path.Clean(p)+"/" != p {
		// Browsers clean paths before they ask: one with "..", "." or
		// "//" comes from elsewhere. The ServeMux would redirect it to its
		// clean form from the root of the host, outside the mount point,
		// which the dashboard does not know when the host strips it.
		http.NotFound(w, r)
		return
	}
	if p := h.cfg.prefix; p != "" && r.URL.Path == p {
		// The pages link to each other relative to the prefix's directory.
		// URL.String escapes the segment and writes "./" before it when a
		// colon in it would read as a scheme.
		target := url.URL{Path: path.Base(p) + "/", RawQuery: r.URL.RawQuery}
		hd.Set("Location", target.String())
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	if p := h.cfg.prefix; p != "" && !strings.HasPrefix(r.URL.Path, p+"/") {
		// "/ops/ccx" is not under "/ops/cc"
		h.problem(w, http.StatusNotFound, fmt.Sprintf("No dashboard page at %q: the dashboard is served under %q (WithPrefix).", r.URL.Path, p+"/"))
		return
	}
	r, failed := withFailures(r)
	defer failed.log(h)
	if d := h.cfg.storeTimeout; d > 0 && r.Method != http.MethodPost {
		// The pages' reads end together at the deadline, and the page
		// shows what it read before it; actions, the only POSTs, are not
		// cut short.
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		r = r.WithContext(ctx)
	}
	h.mux.ServeHTTP(w, r)
}

// withLeadingSlash returns a shallow copy of r whose URL's path starts
// with a slash.
func withLeadingSlash(r *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path = "/" + u.Path
	if u.RawPath != "" {
		u.RawPath = "/" + u.RawPath
	}
	r2.URL = &u
	return r2
}

// page is what every template receives: the frame's data and the page's own.
type page struct {
	Title   string
	Nav     string // the navigation entry to mark as current
	Refresh int    // seconds between live refreshes; 0: none
	Reload  int    // seconds before the browser loads the page anew; 0: never
	Now     string
	At      time.Time // Now as an instant, for what the pages compare with it
	CSRF    string    // the action forms' token; "" when actions are off
	Body    any
}

// render writes page name with status, or an error page if it fails.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if h.csrf != nil {
		tok, err := h.csrf.token(w, r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.CSRF = tok
	}
	if p.Refresh == 0 && status == http.StatusOK {
		p.Refresh = int(h.cfg.refresh.Seconds())
	}
	p.At = h.src.Now()
	p.Now = p.At.In(h.cfg.location).Format(timeLayout)
	var buf bytes.Buffer
	if err := h.pages.execute(&buf, name, p); err != nil {
		h.fail(w, r, fmt.Errorf("dashboard: rendering %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Add("Vary", "Accept-Encoding")
	body, zipped := compressed(r, w.Header(), buf.Bytes())
	if zipped {
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errorBody is the body of the error page.
type errorBody struct {
	Status  int
	Message string
	// Reload is, when the page loads itself anew until the store
	// answers, every how many seconds in words; "" otherwise.
	Reload string
	// Health is whether the page points to the health page, which shows
	// what the engine knows without the store.
	Health bool
}

// fail answers r with a 500 page for err and logs it.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.problem(w, http.StatusInternalServerError, h.logFailure(r, err))
}

// logFailure logs err at Error with a reference, and returns what the page
// says in its place: the reference, not the error, whose text may tell
// the store's internals to whoever reaches the page. The failures of one
// request share one reference and one log line.
func (h *handler) logFailure(r *http.Request, err error) string {
	ref := h.failureRef(r, err)
	return "The engine failed to answer (reference " + ref + "): the server's log has the error under that reference."
}

// unavailable answers r with a 503 page for err, a failed read of the
// store that the page cannot do without, and logs it. The page points to
// the health page, and, when live refresh is on, loads itself anew at its
// pace (Retry-After says the same), so that a page opened during an
// outage shows itself once the store answers again. A store that hangs
// rather than fails holds the page until the store timeout
// ([WithStoreTimeout]) or the request's context ends.
func (h *handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	ref := h.failureRef(r, err)
	body := errorBody{Status: http.StatusServiceUnavailable, Health: true,
		Message: "The engine could not read the store (reference " + ref + "): the server's log has the error under that reference."}
	p := page{}
	if secs := int(h.cfg.refresh.Seconds()); secs > 0 {
		p.Reload, body.Reload = secs, durationWords(time.Duration(secs)*time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	h.errorPage(w, p, body)
}

// problem answers with an error page of status saying msg.
func (h *handler) problem(w http.ResponseWriter, status int, msg string) {
	h.errorPage(w, page{}, errorBody{Status: status, Message: msg})
}

// errorPage writes the error page of body, with p's other fields.
func (h *handler) errorPage(w http.ResponseWriter, p page, body errorBody) {
	status, msg := body.Status, body.Message
	var buf bytes.Buffer
	p.Title, p.Now, p.Body = http.StatusText(status), h.src.Now().In(h.cfg.location).Format(timeLayout), body
	if err := h.pages.execute(&buf, "error", p); err != nil {
		http.Error(w, strings.TrimSpace(fmt.Sprintf("%d %s: %s", status, http.StatusText(status), msg)), status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
