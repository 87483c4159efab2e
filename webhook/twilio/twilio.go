// Package twilio reads Twilio SMS status callbacks (form-encoded) and
// link-shortening click events (JSON), both signed with X-Twilio-Signature.
//
// # Provider settings
//
// The host must:
//
//   - send every message with a StatusCallback URL pointing at the
//     endpoint and naming the campaign and the user in its query, by
//     default https://example.com/webhooks/twilio?campaign_id=promo&user_id=ann
//     (see [webhook.Mapping]); the parameters come back with the callback
//     and are covered by the signature;
//   - for link clicks, send through a Messaging Service with Link
//     Shortening set up, with ShortenUrls=true, and set the service's
//     click-tracking callback URL to the endpoint. That URL is one per
//     service, not per message: put the ids in its query only if the
//     service serves a single campaign and user, otherwise give
//     [WithLookup], which finds them from the message SID;
//   - pass the account's auth token to [New] (while it is rotated, the
//     old one to [WithPreviousKey]), and, behind a proxy or load
//     balancer, the public URL Twilio calls ([WithBaseURL] or
//     [WithURLFunc]): the signature covers the exact URL.
//
// # Mapping
//
//	Twilio field                     event.Event
//	MessageStatus "delivered"        Kind sms_received, ID "<MessageSid>/delivered",
//	                                 Time zero (the engine's now: status
//	                                 callbacks carry no timestamp)
//	other MessageStatus values       skipped (queued, sending, sent, failed,
//	                                 undelivered, read…)
//	event_type "click"               Kind sms_link_clicked, Time click_time,
//	                                 ID "<sms_sid>/click/<click_time>/<hash of link>",
//	                                 Properties {"url": link}
//	other event_type values          skipped ("preview": a link-preview bot)
//	URL query campaign_id, user_id   CampaignID, UserID
//
// # Signatures
//
// Twilio signs the URL it called, followed, for form posts, by the POST
// parameters sorted by name (name and value concatenated), with
// HMAC-SHA1 under the auth token, base64-encoded. For JSON bodies it adds
// a bodySHA256 parameter (the hex SHA-256 of the body) to the URL and
// signs the URL alone; the parser checks both. Signatures carry no
// timestamp, and status callbacks no time at all, so there is no replay
// window and no [webhook.AgeError]: the engine ignores events it has
// already seen within its deduplication window, and a request replayed
// after it counts again. Keep the auth token secret and the endpoint on
// HTTPS.
//
// # Testing
//
// [github.com/campaignconnector/campaignconnector/webhook/twilio/twiliotest]
// plays Twilio in a host's tests: it holds an auth token for New and signs
// status callbacks and click events for the host's endpoint.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/optionerr"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/internal/wire"
)

const provider = "twilio"

// LookupFunc finds the campaign and user a message was sent for, from its
// SID. An error is treated as transient (the handler answers 500); empty
// ids are a [webhook.ErrMissingID] item error.
type LookupFunc func(ctx context.Context, messageSID string) (campaignID, userID string, err error)

// Parser verifies and reads Twilio callbacks. It is safe for concurrent
// use.
type Parser struct {
	token    []byte
	previous [][]byte // WithPreviousKey, in the order given
	mapping  webhook.Mapping
	baseURL  string
	urlFunc  func(*http.Request) string
	lookup   LookupFunc
}

var _ webhook.IndexedParser = (*Parser)(nil)

// Option configures a [Parser]; pass options to [New].
type Option func(*Parser) error

// WithMapping sets the URL query parameters that carry the campaign and
// user ids. Defaults to the zero [webhook.Mapping]: "campaign_id",
// "user_id".
func WithMapping(m webhook.Mapping) Option {
	return func(p *Parser) error {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("twilio: %w", err)
		}
		p.mapping = m
		return nil
	}
}

// WithBaseURL sets the scheme, host and optional path prefix of the public
// URL Twilio calls ("https://hooks.example.com" or
// "https://example.com/api"); the request's path and query are appended.
// Defaults to the request's own Host, with https when it came over TLS.
func WithBaseURL(base string) Option {
	return func(p *Parser) error {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("twilio: base URL %q must be http(s)://host[/prefix], without query", base)
		}
		p.baseURL = strings.TrimSuffix(base, "/")
		return nil
	}
}

// WithURLFunc sets a function that returns the full public URL of a
// request (scheme, host, path and query) when [WithBaseURL] is not enough.
func WithURLFunc(f func(r *http.Request) string) Option {
	return func(p *Parser) error {
		if f == nil {
			return errors.New("twilio: nil URL function")
		}
		p.urlFunc = f
		return nil
	}
}

// WithLookup sets how to find the campaign and user of a message when the
// callback URL's query does not name them (click events, whose callback
// URL is per Messaging Service). Defaults to none.
func WithLookup(f LookupFunc) Option {
	return func(p *Parser) error {
		if f == nil {
			return errors.New("twilio: nil lookup function")
		}
		p.lookup = f
		return nil
	}
}

// New returns a parser that checks signatures with authToken, the Twilio
// account's auth token. An empty token, or one with white space around
// it, is an error that names it. That error, and an option it cannot
// use, wrap [webhook.ErrInvalidOption].
func New(authToken string, opts ...Option) (*Parser, error) {
	if err := checkToken(authToken, "auth token"); err != nil {
		return nil, optionerr.Mark(webhook.ErrInvalidOption, err)
	}
	p := &Parser{token: []byte(authToken)}
	for _, o := range opts {
		if o == nil {
			return nil, optionerr.Mark(webhook.ErrInvalidOption, errors.New("twilio: nil option"))
		}
		if err := o(p); err != nil {
			return nil, optionerr.Mark(webhook.ErrInvalidOption, err)
		}
	}
	return p, nil
}

// checkToken refuses an empty token, or one with white space around it;
// what names it in the error ("auth token", "previous auth token").
func checkToken(token, what string) error {
	switch {
	case strings.TrimSpace(token) == "":
		return fmt.Errorf("twilio: empty %s: pass the account's auth token (Console → Account Info)", what)
	case strings.TrimSpace(token) != token:
		// The token is an HMAC secret: trimming it would change it, and
		// every signature would then fail.
		return fmt.Errorf("twilio: %s has white space at its start or end (a newline read from a file?): pass the token exactly as Twilio shows it", what)
	}
	return nil
}

// Parse verifies the request and returns the event it carries, if it is an
// interaction: a delivered status callback (form-encoded) or a link click
// (JSON). See the package documentation for the mapping and
// [webhook.Parser] for the errors.
func (p *Parser) Parse(r *http.Request, body []byte) ([]event.Event, error) {
	if err := p.Verify(r, body); err != nil {
		return nil, err
	}
	var (
		ev  event.Event
		sid string
		ok  bool
		err error
	)
	if isForm(r) {
		ev, sid, ok, err = statusCallback(body)
	} else {
		ev, sid, ok, err = clickEvent(body)
	}
	if err != nil || !ok {
		return nil, err
	}
	ev.CampaignID, ev.UserID, err = p.ids(r, sid)
	if err != nil {
		if errors.Is(err, webhook.ErrMissingID) {
			return nil, &webhook.ItemError{Provider: provider, Index: 0, ProviderEventID: sid, Err: err}
		}
		return nil, err
	}
	return []event.Event{ev}, nil
}

// Provider returns "twilio", the name its item errors carry
// ([webhook.NamedParser]).
func (p *Parser) Provider() string { return provider }

// ParseIndexed is [Parser.Parse] for the [webhook.Handler]
// ([webhook.IndexedParser]): Twilio posts one item per request, so each
// event comes from item 0.
func (p *Parser) ParseIndexed(r *http.Request, body []byte) ([]event.Event, []int, error) {
	events, err := p.Parse(r, body)
	return events, make([]int, len(events)), err
}

// ids finds the campaign and user ids in the query of the public URL (the
// one the signature covers), then through the lookup function.
func (p *Parser) ids(r *http.Request, sid string) (campaignID, userID string, err error) {
	q := r.URL.Query()
	if u, err := url.Parse(p.publicURL(r)); err == nil {
		q = u.Query()
	}
	campaignID, userID, err = p.mapping.Resolve(q.Get)
	if err == nil || p.lookup == nil {
		return campaignID, userID, err
	}
	c, u, lerr := p.lookup(r.Context(), sid)
	if lerr != nil {
		return "", "", fmt.Errorf("twilio: looking up message %s: %w", sid, lerr)
	}
	if campaignID == "" {
		campaignID = c
	}
	if userID == "" {
		userID = u
	}
	if campaignID == "" || userID == "" {
		return campaignID, userID, fmt.Errorf("%w: not in the callback URL nor found by the lookup for %s", webhook.ErrMissingID, sid)
	}
	return campaignID, userID, nil
}

// statusCallback reads a form-encoded status callback; ok is false for
// statuses other than delivered.
func statusCallback(body []byte) (ev event.Event, sid string, ok bool, err error) {
	form, err := url.ParseQuery(string(body))
	if err != nil { // Verify parsed it already; kept for safety
		return ev, "", false, fmt.Errorf("twilio: %w: form body: %w", webhook.ErrPayload, err)
	}
	sid = first(form, "MessageSid", "SmsSid")
	status := first(form, "MessageStatus", "SmsStatus")
	if status == "" {
		return ev, sid, false, &webhook.ItemError{Provider: provider, ProviderEventID: sid,
			Err: fmt.Errorf("%w: no MessageStatus", webhook.ErrBadItem)}
	}
	if status != "delivered" {
		return ev, sid, false, nil
	}
	if sid == "" {
		return ev, "", false, &webhook.ItemError{Provider: provider, Err: fmt.Errorf("%w: no MessageSid", webhook.ErrBadItem)}
	}
	return event.Event{ID: sid + "/delivered", Kind: event.SMSReceived}, sid, true, nil
}

// first returns the first non-empty value among the given form keys.
func first(form url.Values, keys ...string) string {
	for _, k := range keys {
		if v := form.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// clickEvent reads a JSON link-shortening click event; ok is false for
// event types other than click.
func clickEvent(body []byte) (ev event.Event, sid string, ok bool, err error) {
	m, err := wire.Object(body)
	if err != nil {
		return ev, "", false, fmt.Errorf("twilio: %w: want a JSON click event: %w", webhook.ErrPayload, err)
	}
	sid, _ = wire.String(m["sms_sid"])
	bad := func(format string, args ...any) error {
		return &webhook.ItemError{Provider: provider, ProviderEventID: sid,
			Err: fmt.Errorf("%w: "+format, append([]any{webhook.ErrBadItem}, args...)...)}
	}
	typ, found := wire.String(m["event_type"])
	if !found {
		return ev, sid, false, bad("no \"event_type\" string")
	}
	if typ != "click" {
		return ev, sid, false, nil
	}
	// encoding/json reads bytes that are not UTF-8, and escapes of half
	// a surrogate pair, as U+FFFD: the sid and the link hash into the id.
	if err := wire.Fields(m, "sms_sid", "link"); err != nil {
		return ev, sid, false, bad("%w", err)
	}
	if sid == "" {
		return ev, "", false, bad("no \"sms_sid\"")
	}
	stamp, _ := wire.String(m["click_time"])
	at, err := wire.RFC3339(stamp)
	if err != nil {
		return ev, sid, false, bad("\"click_time\" %q: %w", stamp, err)
	}
	link, _ := wire.String(m["link"])
	h := fnv.New64a()
	h.Write([]byte(link))
	ev = event.Event{
		ID:   sid + "/click/" + at.Format(time.RFC3339Nano) + "/" + strconv.FormatUint(h.Sum64(), 36),
		Kind: event.SMSLinkClicked,
		Time: at,
	}
	ev.Properties = wire.URLProperty(link)
	return ev, sid, true, nil
}
