// Package mailgun reads Mailgun webhooks (the JSON kind, one event per
// request, signed with HMAC-SHA256).
//
// # Provider settings
//
// In the Mailgun control panel (or through the API), the host must:
//
//   - add webhooks for the Delivered, Opened and Clicked events pointing at
//     the endpoint;
//   - pass the HTTP webhook signing key (Settings → API Security) to
//     [New] (while the key is rotated, the old one to [WithPreviousKey]);
//   - enable open and click tracking on the sending domain (Domain
//     settings → Tracking), or per message with o:tracking-opens and
//     o:tracking-clicks;
//   - send every message with user variables naming the campaign and the
//     user, by default v:campaign_id=newsletter and v:user_id=ann (or the
//     X-Mailgun-Variables header); see [webhook.Mapping].
//
// Legacy form-encoded webhooks are not supported.
//
// # Mapping
//
//	Mailgun field (event-data)       event.Event
//	event "delivered"                Kind email_received
//	event "opened"                   Kind email_opened
//	event "clicked"                  Kind email_clicked, Properties {"url": url}
//	other events                     skipped (accepted, failed, rejected,
//	                                 complained, unsubscribed, stored…)
//	id                               ID
//	timestamp (Unix s, fractional)   Time
//	user-variables.campaign_id       CampaignID
//	user-variables.user_id           UserID
//
// # Replays
//
// Mailgun signs the concatenation of a timestamp and a random token. A
// request is rejected ([webhook.ErrSignature]) when its timestamp is more
// than the replay window away from the clock's now (5 minutes by default,
// [WithWindow]), or when its token was already seen within that window,
// whichever key signed it (see [WithPreviousKey]).
// Seen tokens are kept in a bounded memory cache ([WithTokenCache]), per
// Parser: several replicas behind a load balancer each keep their own, and
// the engine's event deduplication covers what slips through.
//
// Mailgun's signature covers the timestamp and the token, not the event
// data: it proves that Mailgun made the request recently, and the token
// check keeps a captured signature from being used twice, but only HTTPS
// keeps the body itself from being altered in transit. Serve the endpoint
// over HTTPS.
//
// # Retries
//
// Mailgun retries a webhook answered with anything but 200 or 406, at 5,
// 10 and 15 minutes, then 1, 2 and 4 hours, except delivered events, which
// it never retries, whatever the answer. Mailgun does not document whether
// a retry is signed anew; one that carries the first attempt's signature
// is refused ([webhook.ErrSignature]: its token was used, and its
// timestamp leaves the default window before the first retry). The
// handler's 400 and 401 are retried too, and fail again.
//
// So a 500 of the [webhook.Handler] (the store failed) loses a delivered
// event, and may lose the others, unless the host keeps them: the handler
// hands the events it could not track to its [webhook.WithErrorFunc]
// callback inside a [*webhook.UntrackedError]. Tracking them later is
// safe: the engine ignores an event id it has already seen.
//
// # Testing
//
// [github.com/campaignconnector/campaignconnector/webhook/mailgun/mailguntest]
// plays Mailgun in a host's tests: it holds a signing key for New and
// signs webhook bodies for the host's endpoint.
package mailgun

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/optionerr"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/internal/wire"
)

// Defaults of the replay protection.
const (
	DefaultWindow     = 5 * time.Minute
	DefaultTokenCache = 100_000
)

const provider = "mailgun"

// Parser verifies and reads Mailgun webhook requests. It is safe for
// concurrent use.
type Parser struct {
	key      []byte
	previous [][]byte // WithPreviousKey, in the order given
	mapping  webhook.Mapping
	clock    webhook.Clock
	window   time.Duration
	tokens   *tokenCache
}

var _ webhook.IndexedParser = (*Parser)(nil)

// Option configures a [Parser]; pass options to [New].
type Option func(*Parser) error

// WithMapping sets the user variable names that carry the campaign and user
// ids. Defaults to the zero [webhook.Mapping]: "campaign_id", "user_id".
func WithMapping(m webhook.Mapping) Option {
	return func(p *Parser) error {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("mailgun: %w", err)
		}
		p.mapping = m
		return nil
	}
}

// WithClock sets the clock timestamps are judged on. Defaults to
// [webhook.SystemClock]. A nil clock, or a nil pointer in
// the interface, is refused.
func WithClock(c webhook.Clock) Option {
	return func(p *Parser) error {
		if err := wire.CheckClock("mailgun", c); err != nil {
			return err
		}
		p.clock = c
		return nil
	}
}

// WithWindow sets how far a request's timestamp may be from now, either
// way (d > 0), and so how long tokens are remembered. Defaults to
// [DefaultWindow].
func WithWindow(d time.Duration) Option {
	return func(p *Parser) error {
		if d <= 0 {
			return fmt.Errorf("mailgun: replay window must be positive, got %v", d)
		}
		p.window = d
		return nil
	}
}

// WithTokenCache bounds how many tokens are remembered (n > 0); when full,
// the oldest is forgotten first. Defaults to [DefaultTokenCache], about
// 10 MB at most.
func WithTokenCache(n int) Option {
	return func(p *Parser) error {
		if n <= 0 {
			return fmt.Errorf("mailgun: token cache size must be positive, got %d", n)
		}
		p.tokens = newTokenCache(n)
		return nil
	}
}

// New returns a parser that checks signatures with signingKey, the
// account's HTTP webhook signing key. An empty key, or one with white space
// around it, is an error that names it. That error, and an option it
// cannot use, wrap [webhook.ErrInvalidOption].
func New(signingKey string, opts ...Option) (*Parser, error) {
	if err := checkKey(signingKey, "signing key"); err != nil {
		return nil, optionerr.Mark(webhook.ErrInvalidOption, err)
	}
	p := &Parser{key: []byte(signingKey), clock: webhook.SystemClock{}, window: DefaultWindow}
	for _, o := range opts {
		if o == nil {
			return nil, optionerr.Mark(webhook.ErrInvalidOption, errors.New("mailgun: nil option"))
		}
		if err := o(p); err != nil {
			return nil, optionerr.Mark(webhook.ErrInvalidOption, err)
		}
	}
	if p.tokens == nil {
		p.tokens = newTokenCache(DefaultTokenCache)
	}
	return p, nil
}

// checkKey refuses an empty key, or one with white space around it; what
// names it in the error ("signing key", "previous signing key").
func checkKey(key, what string) error {
	switch {
	case strings.TrimSpace(key) == "":
		return fmt.Errorf("mailgun: empty %s: pass the HTTP webhook signing key (Settings → API Security)", what)
	case strings.TrimSpace(key) != key:
		// The key is an HMAC secret: trimming it would change it, and
		// every signature would then fail.
		return fmt.Errorf("mailgun: %s has white space at its start or end (a newline read from a file?): pass the key exactly as Mailgun shows it", what)
	}
	return nil
}

// Parse verifies the request and returns the event it carries, if it is an
// interaction; see the package documentation for the mapping and
// [webhook.Parser] for the errors.
func (p *Parser) Parse(r *http.Request, body []byte) ([]event.Event, error) {
	top, err := wire.Object(body)
	if err != nil {
		return nil, fmt.Errorf("mailgun: %w: want a JSON object: %w", webhook.ErrPayload, err)
	}
	if err := p.verify(top["signature"]); err != nil {
		return nil, err
	}
	data, err := wire.Object(top["event-data"])
	if err != nil {
		return nil, fmt.Errorf("mailgun: %w: \"event-data\": %w", webhook.ErrPayload, err)
	}
	ev, ok, err := p.item(data)
	if err != nil {
		id, _ := wire.Text(data["id"])
		return nil, &webhook.ItemError{Provider: provider, Index: 0, ProviderEventID: id, Err: err}
	}
	if !ok {
		return nil, nil
	}
	return []event.Event{ev}, nil
}

// Provider returns "mailgun", the name its item errors carry
// ([webhook.NamedParser]).
func (p *Parser) Provider() string { return provider }

// ParseIndexed is [Parser.Parse] for the [webhook.Handler]
// ([webhook.IndexedParser]): Mailgun posts one item per request, so each
// event comes from item 0.
func (p *Parser) ParseIndexed(r *http.Request, body []byte) ([]event.Event, []int, error) {
	events, err := p.Parse(r, body)
	return events, make([]int, len(events)), err
}

// verify checks the signature object, its timestamp and its token.
func (p *Parser) verify(raw json.RawMessage) error {
	sig, err := wire.Object(raw)
	if err != nil {
		return fmt.Errorf("mailgun: %w: no \"signature\" object", webhook.ErrSignature)
	}
	ts, _ := wire.Text(sig["timestamp"])
	token, _ := wire.String(sig["token"])
	given, _ := wire.String(sig["signature"])
	if ts == "" || token == "" || given == "" {
		return fmt.Errorf("mailgun: %w: signature needs timestamp, token and signature", webhook.ErrSignature)
	}
	got, err := hex.DecodeString(given)
	if err != nil || !p.signed(ts, token, got) {
		return fmt.Errorf("mailgun: %w: signature does not match the key%s", webhook.ErrSignature, p.keysTried())
	}
	at, err := wire.Unix(ts)
	if err != nil {
		return fmt.Errorf("mailgun: %w: timestamp %q: %w", webhook.ErrSignature, ts, err)
	}
	now := p.clock.Now()
	if age := now.Sub(at); age > p.window || age < -p.window {
		return fmt.Errorf("mailgun: %w: timestamp %s is %v away from now, over %v", webhook.ErrSignature, ts, age, p.window)
	}
	if !p.tokens.use(token, now, at.Add(p.window)) {
		return fmt.Errorf("mailgun: %w: token already used (replay)", webhook.ErrSignature)
	}
	return nil
}

// kinds maps the Mailgun event types that are interactions.
var kinds = map[string]event.Kind{
	"delivered": event.EmailReceived,
	"opened":    event.EmailOpened,
	"clicked":   event.EmailClicked,
}

// item translates event-data; ok is false for event types that are skipped.
func (p *Parser) item(data map[string]json.RawMessage) (ev event.Event, ok bool, err error) {
	typ, found := wire.String(data["event"])
	if !found {
		return ev, false, fmt.Errorf("%w: no \"event\" string", webhook.ErrBadItem)
	}
	kind, known := kinds[typ]
	if !known {
		return ev, false, nil
	}
	id, found := wire.Text(data["id"])
	if !found || id == "" {
		return ev, false, fmt.Errorf("%w: no \"id\"", webhook.ErrBadItem)
	}
	at, err := wire.UnixJSON(data["timestamp"])
	if err != nil {
		return ev, false, fmt.Errorf("%w: \"timestamp\": %w", webhook.ErrBadItem, err)
	}
	vars := map[string]json.RawMessage{}
	if raw, present := data["user-variables"]; present && string(raw) != "null" {
		if vars, err = wire.Object(raw); err != nil {
			return ev, false, fmt.Errorf("%w: \"user-variables\" is not an object", webhook.ErrBadItem)
		}
	}
	campaignID, userID, err := p.mapping.Resolve(func(k string) string {
		s, _ := wire.Text(vars[k])
		return s
	})
	if err != nil {
		return ev, false, err
	}
	// encoding/json reads bytes that are not UTF-8, and escapes of half
	// a surrogate pair, as U+FFFD: ids so read would name another user.
	ck, uk := p.mapping.Keys()
	if err := wire.Fields(data, "id"); err != nil {
		return ev, false, fmt.Errorf("%w: %w", webhook.ErrBadItem, err)
	}
	if err := wire.Fields(vars, ck, uk); err != nil {
		return ev, false, fmt.Errorf("%w: \"user-variables\": %w", webhook.ErrBadItem, err)
	}
	ev = event.Event{ID: id, UserID: userID, Kind: kind, CampaignID: campaignID, Time: at}
	if kind == event.EmailClicked {
		ev.Properties = wire.URLPropertyOf(data["url"])
	}
	return ev, true, nil
}
