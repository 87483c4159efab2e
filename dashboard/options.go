package dashboard

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

// ErrInvalidOption reports an option [New] cannot use, or a nil engine;
// the error wrapping it says which and why.
var ErrInvalidOption = errors.New("dashboard: invalid option")

// Option configures the handler [New] returns.
type Option func(*config) error

type config struct {
	prefix   string
	logger   *slog.Logger
	auth     *basicAuth
	actions  bool
	csrfKey  []byte
	location *time.Location
	refresh  time.Duration
	actor    func(*http.Request) string
	// storeTimeout bounds the store reads of a page (not of an action);
	// 0: they wait for the request's context.
	storeTimeout time.Duration
}

func defaultConfig() config {
	return config{
		logger:   slog.Default(),
		location: time.UTC,
		refresh:  10 * time.Second,

		storeTimeout: defaultStoreTimeout,
	}
}

// defaultStoreTimeout is how long a page waits for the store by default:
// far longer than any page takes on a store that answers, short enough
// that a page on a hung store says so before a browser gives up.
const defaultStoreTimeout = 30 * time.Second

// validate checks the options that depend on each other.
func (c *config) validate() error {
	if c.csrfKey != nil && !c.actions {
		return optionError("WithCSRFKey needs WithActions: without actions there is no form to protect")
	}
	if c.actor != nil && !c.actions {
		return optionError("WithActor needs WithActions: without actions there is nothing to attribute")
	}
	return nil
}

func optionError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
}

// WithPrefix serves the dashboard under path prefix, such as "/ops/campaigns":
// the handler answers requests whose path starts with it and strips it,
// so a host mounts it with mux.Handle(prefix+"/", h) and needs no
// http.StripPrefix. The prefix is a clean path ("." and ".." free, no
// "//"), starts with "/" and does not end with one.
// Defaults to none: the handler serves from "/", as it also does behind a
// host's own http.StripPrefix. Links and forms in the pages are relative,
// so they work under any prefix either way.
func WithPrefix(prefix string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") {
			fix := "/" + strings.Trim(prefix, "/")
			if fix == "/" {
				fix = "/ops/campaigns" // a prefix of slashes alone: serve from "/" without WithPrefix
			}
			return optionError("prefix %q must start with \"/\" and not end with one: WithPrefix(%q), mounted "+
				"with mux.Handle(%q, h)", prefix, fix, fix+"/")
		}
		// Browsers and ServeMux clean the paths they request, and a query
		// or fragment is never part of one: such a prefix would match no
		// request.
		if path.Clean(prefix) != prefix || strings.ContainsAny(prefix, "?#") {
			return optionError("prefix %q must be a clean path, without \".\", \"..\", \"//\", \"?\" or \"#\"", prefix)
		}
		c.prefix = prefix
		return nil
	}
}

// WithLogger sets where the handler logs the errors it answers with an
// error page or with a notice in a page (one line per request, whose
// reference the page shows: at Error, or at Warn when the client left
// while the reads waited for the store and its leaving is all that
// failed), and the actions taken or refused
// (their audit trail, with [WithActions]). Defaults to slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return optionError("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithBasicAuth asks every request for HTTP basic authentication with this
// user name (without a colon) and password, compared in constant time. Without it the
// dashboard is open to whoever reaches it: put it behind the host's own
// authentication then. Use it over HTTPS only: basic authentication sends
// the password with every request.
func WithBasicAuth(user, password string) Option {
	return func(c *config) error {
		if user == "" || password == "" {
			return optionError("basic auth needs a user name and a password")
		}
		if strings.Contains(user, ":") {
			// Basic credentials are "user:password": a colon in the user
			// name splits it, so no request could ever match.
			return optionError("basic auth user name %q holds a colon, which basic authentication cannot carry", user)
		}
		c.auth = newBasicAuth(user, password)
		return nil
	}
}

// WithActions lets the dashboard's users publish, stop and archive
// campaigns, and cancel what a stop or an archive cut short left pending
// ([connector.Engine.CancelPending]). Each action is a POST form with a CSRF token bound to a
// session cookie (SameSite=Strict) and is refused from other origins; a
// GET never changes anything. Defaults to read-only: no action is shown
// and every POST is refused.
//
// A host that applies its campaigns at every start ([connector.Engine.Apply])
// resumes a campaign stopped here at its next restart, unless it passes
// [connector.KeepStopped] to Apply.
func WithActions() Option {
	return func(c *config) error {
		c.actions = true
		return nil
	}
}

// WithActor names who makes each action, for the audit trail: actor
// returns the identity the host's own authentication gave the request (a
// value its middleware put in the request's context, a header its
// authenticating proxy set), or "" when it has none (the user name of
// [WithBasicAuth], when that is on, is then used). It is called once per
// action, before anything is done, and each action, carried out or
// refused, is logged with "user" set to its answer (clipped to 100
// bytes). An actor that panics fails the action with a 500 page: nothing
// is done unattributed. Defaults to the user name of [WithBasicAuth].
// Needs [WithActions]; a nil actor is refused.
func WithActor(actor func(r *http.Request) string) Option {
	return func(c *config) error {
		if actor == nil {
			return optionError("nil actor function")
		}
		c.actor = actor
		return nil
	}
}

// WithCSRFKey sets the secret that signs the CSRF tokens of the action
// forms, at least 32 bytes. Give every replica behind one load balancer the
// same key, so a form served by one is accepted by another. Defaults to a
// random key made by [New]. Needs [WithActions].
func WithCSRFKey(key []byte) Option {
	return func(c *config) error {
		if len(key) < 32 {
			return optionError("CSRF key of %d bytes, need at least 32", len(key))
		}
		c.csrfKey = append([]byte(nil), key...)
		return nil
	}
}

// WithLocation sets the time zone of the times and chart labels the pages
// show. Defaults to UTC.
func WithLocation(loc *time.Location) Option {
	return func(c *config) error {
		if loc == nil {
			return optionError("nil location")
		}
		c.location = loc
		return nil
	}
}

// WithRefresh sets how often a page with JavaScript enabled reloads its
// figures in place while it is visible; zero turns live refresh off.
// Defaults to 10 seconds. Pages work without JavaScript: reloading the
// page shows the same figures. A page that could not read the store
// (answered with 503) loads itself again at the same pace, with or
// without JavaScript, unless live refresh is off.
func WithRefresh(every time.Duration) Option {
	return func(c *config) error {
		if every < 0 || (every > 0 && every < time.Second) {
			return optionError("refresh every %v: zero (off) or at least a second", every)
		}
		c.refresh = every
		return nil
	}
}

// WithStoreTimeout bounds how long a page waits for the store's answers,
// all of its reads together: past d, the reads still under way end, and
// the page shows what it could read, as while the store fails (the health
// page with a notice in each part it could not read, the other pages as a
// 503 page that loads itself again until the store answers). Actions
// (publish, stop, archive) are not bounded by it: a stop cut short would
// leave deliveries to cancel. Zero lets the reads wait for the request's
// context, which a host bounds with http.TimeoutHandler. Defaults to 30
// seconds.
func WithStoreTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return optionError("store timeout %v: zero (none) or more", d)
		}
		c.storeTimeout = d
		return nil
	}
}
