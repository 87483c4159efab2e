// Package sendgrid reads the SendGrid Event Webhook: signed JSON batches
// of delivery and engagement events.
//
// # Provider settings
//
// In the SendGrid console (or through the API), the host must:
//
//   - enable the Event Webhook with the endpoint's URL, and select at least
//     the Delivered, Opened and Clicked events;
//   - enable the signed Event Webhook (Security features → Signature
//     Verification) and pass the verification key SendGrid shows (base64
//     of a DER public key, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…") to
//     [New] (while the key is rotated, the old one to [WithPreviousKey]);
//   - enable Open Tracking and Click Tracking (Settings → Tracking);
//   - send every message with custom args naming the campaign and the
//     user, by default {"campaign_id": "newsletter", "user_id": "ann"}
//     (see [webhook.Mapping]). SendGrid echoes custom args as top-level keys
//     of every event about the message.
//
// # Mapping
//
//	SendGrid field         event.Event
//	event "delivered"      Kind email_received
//	event "open"           Kind email_opened
//	event "click"          Kind email_clicked, Properties {"url": url}
//	other events           skipped (processed, deferred, bounce, dropped,
//	                       spamreport, unsubscribe, group_*…)
//	sg_event_id            ID
//	timestamp (Unix s)     Time
//	custom arg campaign_id CampaignID
//	custom arg user_id     UserID
//
// Opens SendGrid flags as machine opens (sg_machine_open, such as Apple
// Mail Privacy Protection prefetching every image) are tracked like any
// open unless [WithoutMachineOpens] is given.
//
// An item without sg_event_id, event or timestamp, with one of the wrong
// type, or whose sg_event_id or campaign or user custom arg is not valid
// UTF-8 (which encoding/json would read with U+FFFD in place of the bad
// bytes), is an [*webhook.ItemError] wrapping [webhook.ErrBadItem]; an
// item without the campaign or user custom arg is one wrapping
// [webhook.ErrMissingID]. The other items of the batch still become
// events. A click's url that is not valid UTF-8 is left out of its
// properties.
//
// # Testing
//
// [github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest]
// plays SendGrid in a host's tests: it makes a key pair, gives the
// verification key for New, and signs requests for the host's endpoint.
package sendgrid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/errlist"
	"github.com/campaignconnector/campaignconnector/internal/optionerr"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/internal/wire"
)

// Headers SendGrid signs its requests with.
const (
	// SignatureHeader holds the base64 ASN.1 DER ECDSA signature of the
	// SHA-256 hash of the timestamp header followed by the raw body.
	SignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	// TimestampHeader holds the signing time, Unix seconds; the signature
	// covers it followed by the raw body.
	TimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

const provider = "sendgrid"

// Parser verifies and reads SendGrid Event Webhook requests. It is safe for
// concurrent use.
type Parser struct {
	key          *ecdsa.PublicKey
	mapping      webhook.Mapping
	clock        webhook.Clock
	maxAge       time.Duration
	machineOpens bool

	// previous holds the WithPreviousKey keys, in the order given, in
	// previous[:nPrevious]: an array, not a slice, so that Parser stays
	// comparable, as it was before the option.
	previous  [maxPreviousKeys]*ecdsa.PublicKey
	nPrevious int
}

var _ webhook.IndexedParser = (*Parser)(nil)

// Option configures a [Parser]; pass options to [New].
type Option func(*Parser) error

// WithMapping sets the custom arg names that carry the campaign and user
// ids. Defaults to the zero [webhook.Mapping]: "campaign_id", "user_id".
func WithMapping(m webhook.Mapping) Option {
	return func(p *Parser) error {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("sendgrid: %w", err)
		}
		p.mapping = m
		return nil
	}
}

// WithMaxAge rejects requests whose signing timestamp is more than d away
// from the clock's now (d > 0), against replays of captured requests,
// with a [*webhook.AgeError] (it wraps [webhook.ErrSignature]). Defaults to no limit: the engine already ignores replayed events it has
// seen within its deduplication window, and SendGrid's retries of a failed
// batch keep arriving for up to 24 hours.
func WithMaxAge(d time.Duration) Option {
	return func(p *Parser) error {
		if d <= 0 {
			return fmt.Errorf("sendgrid: max age must be positive, got %v", d)
		}
		p.maxAge = d
		return nil
	}
}

// WithClock sets the clock [WithMaxAge] is judged on. Defaults to
// [webhook.SystemClock]. A nil clock, or a nil pointer in
// the interface, is refused.
func WithClock(c webhook.Clock) Option {
	return func(p *Parser) error {
		if err := wire.CheckClock("sendgrid", c); err != nil {
			return err
		}
		p.clock = c
		return nil
	}
}

// WithoutMachineOpens skips opens SendGrid flags with sg_machine_open:
// images fetched by a mail client's privacy proxy rather than by the user.
func WithoutMachineOpens() Option {
	return func(p *Parser) error {
		p.machineOpens = false
		return nil
	}
}

// New returns a parser that checks signatures with verificationKey, the
// base64 DER (PKIX) ECDSA P-256 public key SendGrid shows when the signed
// Event Webhook is enabled; a PEM "PUBLIC KEY" block is accepted too. An
// empty or malformed key is an error that says which shape is expected.
// That error, and an option it cannot use, wrap [webhook.ErrInvalidOption].
func New(verificationKey string, opts ...Option) (*Parser, error) {
	key, err := ParsePublicKey(verificationKey)
	if err != nil {
		return nil, optionerr.Mark(webhook.ErrInvalidOption, err)
	}
	p := &Parser{key: key, clock: webhook.SystemClock{}, machineOpens: true}
	for _, o := range opts {
		if o == nil {
			return nil, optionerr.Mark(webhook.ErrInvalidOption, errors.New("sendgrid: nil option"))
		}
		if err := o(p); err != nil {
			return nil, optionerr.Mark(webhook.ErrInvalidOption, err)
		}
	}
	return p, nil
}

// keyShape ends every error about a malformed verification key.
const keyShape = `want the base64 DER public key SendGrid shows ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…") or a PEM "PUBLIC KEY" block`

// ParsePublicKey decodes a verification key as [New] accepts it.
func ParsePublicKey(s string) (*ecdsa.PublicKey, error) {
	return parsePublicKey(s, "verification key")
}

// parsePublicKey decodes a verification key; what names it in the errors
// ("verification key", "previous verification key").
func parsePublicKey(s, what string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("sendgrid: empty %s: pass the key SendGrid shows when Signature Verification is enabled", what)
	}
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("sendgrid: %s is a PEM %q block; %s", what, block.Type, keyShape)
		}
		der = block.Bytes
	} else {
		if strings.HasPrefix(s, "-----BEGIN") {
			return nil, fmt.Errorf("sendgrid: %s is an incomplete PEM block; %s", what, keyShape)
		}
		var err error
		if der, err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, fmt.Errorf("sendgrid: %s is not base64 (%w); %s", what, err, keyShape)
		}
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("sendgrid: %s is not a DER public key (%w); %s", what, err, keyShape)
	}
	key, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("sendgrid: %s is a %T, want an ECDSA P-256 key", what, pub)
	}
	if key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("sendgrid: %s is on curve %s, want an ECDSA P-256 key", what, key.Curve.Params().Name)
	}
	return key, nil
}

// Verify checks the request's signature over the timestamp header and
// body, under the key given to [New] or a [WithPreviousKey], and its age
// when [WithMaxAge] is set. Errors wrap
// [webhook.ErrSignature].
func (p *Parser) Verify(r *http.Request, body []byte) error {
	sig, ts := r.Header.Get(SignatureHeader), r.Header.Get(TimestampHeader)
	if sig == "" || ts == "" {
		return fmt.Errorf("sendgrid: %w: missing %s or %s header", webhook.ErrSignature, SignatureHeader, TimestampHeader)
	}
	der, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("sendgrid: %w: signature is not base64: %w", webhook.ErrSignature, err)
	}
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(body)
	if !p.verifies(h.Sum(nil), der) {
		return fmt.Errorf("sendgrid: %w: signature does not match the body and key%s", webhook.ErrSignature, p.keysTried())
	}
	if p.maxAge > 0 {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return fmt.Errorf("sendgrid: %w: timestamp %q is not Unix seconds", webhook.ErrSignature, ts)
		}
		if err := wire.CheckAge("sendgrid", "timestamp "+ts, time.Unix(sec, 0), p.clock.Now(), p.maxAge); err != nil {
			return err
		}
	}
	return nil
}

// Parse verifies the request and returns one event per delivered, open
// and click item of the batch, in order; see the package documentation for
// the mapping and [webhook.Parser] for the errors.
func (p *Parser) Parse(r *http.Request, body []byte) ([]event.Event, error) {
	events, _, err := p.ParseIndexed(r, body)
	return events, err
}

// Provider returns "sendgrid", the name its item errors carry
// ([webhook.NamedParser]).
func (p *Parser) Provider() string { return provider }

// ParseIndexed is [Parser.Parse] that also returns the position in the
// batch of each event's item ([webhook.IndexedParser]): items that are
// skipped or cannot become events leave gaps.
func (p *Parser) ParseIndexed(r *http.Request, body []byte) ([]event.Event, []int, error) {
	if err := p.Verify(r, body); err != nil {
		return nil, nil, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, nil, fmt.Errorf("sendgrid: %w: want a JSON array of events: %w", webhook.ErrPayload, err)
	}
	var events []event.Event
	var index []int
	var errs []error
	for i, raw := range items {
		ev, ok, err := p.item(raw)
		if err != nil {
			ie := &webhook.ItemError{Provider: provider, Index: i, Err: err}
			if m, e := wire.Object(raw); e == nil {
				ie.ProviderEventID, _ = wire.Text(m["sg_event_id"])
			}
			errs = append(errs, ie)
			continue
		}
		if ok {
			events = append(events, ev)
			index = append(index, i)
		}
	}
	return events, index, errlist.Join(errs...)
}

// kinds maps the SendGrid event types that are interactions.
var kinds = map[string]event.Kind{
	"delivered": event.EmailReceived,
	"open":      event.EmailOpened,
	"click":     event.EmailClicked,
}

// item translates one element of the batch; ok is false for event types
// that are skipped.
func (p *Parser) item(raw json.RawMessage) (ev event.Event, ok bool, err error) {
	m, err := wire.Object(raw)
	if err != nil {
		return ev, false, fmt.Errorf("%w: not an object: %w", webhook.ErrBadItem, err)
	}
	typ, found := wire.String(m["event"])
	if !found {
		return ev, false, fmt.Errorf("%w: no \"event\" string", webhook.ErrBadItem)
	}
	kind, known := kinds[typ]
	if !known {
		return ev, false, nil
	}
	if kind == event.EmailOpened && !p.machineOpens {
		if machine, _ := wire.Text(m["sg_machine_open"]); machine == "true" {
			return ev, false, nil
		}
	}
	id, found := wire.Text(m["sg_event_id"])
	if !found || id == "" {
		return ev, false, fmt.Errorf("%w: no \"sg_event_id\"", webhook.ErrBadItem)
	}
	at, err := wire.UnixJSON(m["timestamp"])
	if err != nil {
		return ev, false, fmt.Errorf("%w: \"timestamp\": %w", webhook.ErrBadItem, err)
	}
	campaignID, userID, err := p.mapping.Resolve(func(k string) string {
		s, _ := wire.Text(m[k])
		return s
	})
	if err != nil {
		return ev, false, err
	}
	ck, uk := p.mapping.Keys()
	if err := wire.Fields(m, "sg_event_id", ck, uk); err != nil {
		return ev, false, fmt.Errorf("%w: %w", webhook.ErrBadItem, err)
	}
	ev = event.Event{ID: id, UserID: userID, Kind: kind, CampaignID: campaignID, Time: at}
	if kind == event.EmailClicked {
		ev.Properties = wire.URLPropertyOf(m["url"])
	}
	return ev, true, nil
}
