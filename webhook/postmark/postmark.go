// Package postmark reads Postmark delivery, open and click webhooks (one
// JSON record per request).
//
// # Provider settings
//
// In Postmark (Servers → the server → Message Streams → Webhooks, or the
// webhooks API), the host must:
//
//   - add a webhook pointing at the endpoint with the Delivery, Open and
//     Click events selected;
//   - protect it: Postmark does not sign webhooks, so set HTTP basic auth
//     credentials on the webhook ([WithBasicAuth]) and/or a custom header
//     with a long random value ([WithHeader]), and serve the endpoint over
//     HTTPS;
//   - enable open tracking and link tracking (per message with TrackOpens
//     and TrackLinks, or as the server's defaults);
//   - send every message with Metadata naming the campaign and the user, by
//     default {"campaign_id": "newsletter", "user_id": "ann"}; see
//     [webhook.Mapping].
//
// # Mapping
//
//	Postmark field          event.Event
//	RecordType "Delivery"   Kind email_received, Time DeliveredAt
//	RecordType "Open"       Kind email_opened, Time ReceivedAt
//	RecordType "Click"      Kind email_clicked, Time ReceivedAt,
//	                        Properties {"url": OriginalLink}
//	other record types      skipped (Bounce, SpamComplaint,
//	                        SubscriptionChange…)
//	Metadata.campaign_id    CampaignID
//	Metadata.user_id        UserID
//
// Postmark gives records no id of their own, so [event.Event.ID] is built
// from what identifies one: "<MessageID>/delivery" for a delivery,
// "<MessageID>/open/<ReceivedAt>" for an open (a message may be opened many
// times), and "<MessageID>/click/<ReceivedAt>/<hash of OriginalLink>" for a
// click. Postmark's retries of a record carry the same fields, hence the
// same id.
//
// # Testing
//
// [github.com/campaignconnector/campaignconnector/webhook/postmark/postmarktest]
// plays Postmark in a host's tests: it makes credentials, gives the options
// that require them, and sets them on requests for the host's endpoint.
package postmark

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/optionerr"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/internal/wire"
)

const provider = "postmark"

// Parser authenticates and reads Postmark webhook requests. It is safe for
// concurrent use.
type Parser struct {
	basic   *[2][32]byte // SHA-256 of the user name and password
	header  string
	value   [32]byte // SHA-256 of the header's value
	mapping webhook.Mapping
}

var _ webhook.IndexedParser = (*Parser)(nil)

// Option configures a [Parser]; pass options to [New].
type Option func(*Parser) error

// WithBasicAuth requires HTTP basic auth with user and password, the
// credentials set on the Postmark webhook. Both must be non-empty, and the
// user name cannot hold a colon (basic auth separates the two with one).
func WithBasicAuth(user, password string) Option {
	return func(p *Parser) error {
		switch {
		case user == "":
			return errors.New("postmark: WithBasicAuth: empty user name")
		case password == "":
			return errors.New("postmark: WithBasicAuth: empty password")
		case strings.Contains(user, ":"):
			return errors.New("postmark: WithBasicAuth: user name contains ':', which basic auth cannot carry")
		}
		p.basic = &[2][32]byte{sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))}
		return nil
	}
}

// WithHeader requires the header name to carry value, a custom header set
// on the Postmark webhook. Use a long random value; it cannot start or end
// with white space, which HTTP drops, nor hold control characters.
func WithHeader(name, value string) Option {
	return func(p *Parser) error {
		switch {
		case name == "":
			return errors.New("postmark: WithHeader: empty header name")
		case !validHeaderName(name):
			return fmt.Errorf("postmark: WithHeader: %q is not an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~ only)", name)
		case value == "":
			return fmt.Errorf("postmark: WithHeader: empty value for header %s", name)
		case strings.TrimSpace(value) != value:
			return fmt.Errorf("postmark: WithHeader: value of header %s has white space at its start or end, which HTTP drops", name)
		case strings.ContainsFunc(value, func(r rune) bool { return r < ' ' || r == 0x7f }):
			return fmt.Errorf("postmark: WithHeader: value of header %s holds a control character", name)
		}
		p.header, p.value = http.CanonicalHeaderKey(name), sha256.Sum256([]byte(value))
		return nil
	}
}

// validHeaderName reports whether name is an HTTP token (RFC 9110,
// section 5.1), the only names a header can have.
func validHeaderName(name string) bool {
	for _, c := range []byte(name) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return name != ""
}

// WithMapping sets the Metadata keys that carry the campaign and user ids.
// Defaults to the zero [webhook.Mapping]: "campaign_id", "user_id".
func WithMapping(m webhook.Mapping) Option {
	return func(p *Parser) error {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("postmark: %w", err)
		}
		p.mapping = m
		return nil
	}
}

// New returns a parser. At least one of [WithBasicAuth] and [WithHeader] is
// required; when both are given, a request must pass both. Leaving both
// out, or an option New cannot use, is an error wrapping
// [webhook.ErrInvalidOption].
func New(opts ...Option) (*Parser, error) {
	p := &Parser{}
	for _, o := range opts {
		if o == nil {
			return nil, optionerr.Mark(webhook.ErrInvalidOption, errors.New("postmark: nil option"))
		}
		if err := o(p); err != nil {
			return nil, optionerr.Mark(webhook.ErrInvalidOption, err)
		}
	}
	if p.basic == nil && p.header == "" {
		return nil, optionerr.Mark(webhook.ErrInvalidOption, errors.New("postmark: no authentication: pass WithBasicAuth or WithHeader (Postmark does not sign webhooks)"))
	}
	return p, nil
}

// equal compares a secret with a digest in constant time; hashing first
// hides the secret's length too.
func equal(given string, want [32]byte) bool {
	got := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// Verify checks the request's credentials. Errors wrap
// [webhook.ErrSignature].
func (p *Parser) Verify(r *http.Request) error {
	if p.basic != nil {
		user, password, ok := r.BasicAuth()
		// Evaluate both comparisons: no early exit on the user name.
		userOK, passOK := equal(user, p.basic[0]), equal(password, p.basic[1])
		if !ok || !userOK || !passOK {
			return fmt.Errorf("postmark: %w: basic auth missing or wrong", webhook.ErrSignature)
		}
	}
	if p.header != "" {
		if !equal(r.Header.Get(p.header), p.value) {
			return fmt.Errorf("postmark: %w: header %s missing or wrong", webhook.ErrSignature, p.header)
		}
	}
	return nil
}

// Parse authenticates the request and returns the event its record
// carries, if it is an interaction; see the package documentation for the
// mapping and [webhook.Parser] for the errors.
func (p *Parser) Parse(r *http.Request, body []byte) ([]event.Event, error) {
	if err := p.Verify(r); err != nil {
		return nil, err
	}
	rec, err := wire.Object(body)
	if err != nil {
		return nil, fmt.Errorf("postmark: %w: want a JSON object: %w", webhook.ErrPayload, err)
	}
	ev, ok, err := p.item(rec)
	if err != nil {
		id, _ := wire.Text(rec["MessageID"])
		return nil, &webhook.ItemError{Provider: provider, Index: 0, ProviderEventID: id, Err: err}
	}
	if !ok {
		return nil, nil
	}
	return []event.Event{ev}, nil
}

// Provider returns "postmark", the name its item errors carry
// ([webhook.NamedParser]).
func (p *Parser) Provider() string { return provider }

// ParseIndexed is [Parser.Parse] for the [webhook.Handler]
// ([webhook.IndexedParser]): Postmark posts one item per request, so each
// event comes from item 0.
func (p *Parser) ParseIndexed(r *http.Request, body []byte) ([]event.Event, []int, error) {
	events, err := p.Parse(r, body)
	return events, make([]int, len(events)), err
}

// record types that are interactions, with the field holding their time.
var kinds = map[string]struct {
	kind      event.Kind
	timeField string
}{
	"Delivery": {event.EmailReceived, "DeliveredAt"},
	"Open":     {event.EmailOpened, "ReceivedAt"},
	"Click":    {event.EmailClicked, "ReceivedAt"},
}

// item translates one record; ok is false for record types that are
// skipped.
func (p *Parser) item(rec map[string]json.RawMessage) (ev event.Event, ok bool, err error) {
	typ, found := wire.String(rec["RecordType"])
	if !found {
		return ev, false, fmt.Errorf("%w: no \"RecordType\" string", webhook.ErrBadItem)
	}
	k, known := kinds[typ]
	if !known {
		return ev, false, nil
	}
	msgID, found := wire.String(rec["MessageID"])
	if !found || msgID == "" {
		return ev, false, fmt.Errorf("%w: no \"MessageID\"", webhook.ErrBadItem)
	}
	stamp, _ := wire.String(rec[k.timeField])
	at, err := wire.RFC3339(stamp)
	if err != nil {
		return ev, false, fmt.Errorf("%w: %q: %w", webhook.ErrBadItem, k.timeField, err)
	}
	meta := map[string]json.RawMessage{}
	if raw, present := rec["Metadata"]; present && string(raw) != "null" {
		if meta, err = wire.Object(raw); err != nil {
			return ev, false, fmt.Errorf("%w: \"Metadata\" is not an object", webhook.ErrBadItem)
		}
	}
	campaignID, userID, err := p.mapping.Resolve(func(key string) string {
		s, _ := wire.Text(meta[key])
		return s
	})
	if err != nil {
		return ev, false, err
	}
	// encoding/json reads bytes that are not UTF-8, and escapes of half
	// a surrogate pair, as U+FFFD: ids so read (a click's link hashes into
	// its id) would name another user or event.
	if err := wire.Fields(rec, "MessageID", "OriginalLink"); err != nil {
		return ev, false, fmt.Errorf("%w: %w", webhook.ErrBadItem, err)
	}
	ck, uk := p.mapping.Keys()
	if err := wire.Fields(meta, ck, uk); err != nil {
		return ev, false, fmt.Errorf("%w: \"Metadata\": %w", webhook.ErrBadItem, err)
	}
	ev = event.Event{UserID: userID, Kind: k.kind, CampaignID: campaignID, Time: at}
	switch k.kind {
	case event.EmailReceived:
		ev.ID = msgID + "/delivery"
	case event.EmailOpened:
		ev.ID = msgID + "/open/" + at.Format(time.RFC3339Nano)
	case event.EmailClicked:
		link, _ := wire.String(rec["OriginalLink"])
		h := fnv.New64a()
		h.Write([]byte(link))
		ev.ID = msgID + "/click/" + at.Format(time.RFC3339Nano) + "/" + strconv.FormatUint(h.Sum64(), 36)
		ev.Properties = wire.URLProperty(link)
	}
	return ev, true, nil
}
