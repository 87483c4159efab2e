// Package ses reads Amazon SES event publishing delivered through Amazon
// SNS to an HTTPS endpoint: it verifies the SNS signature and turns the SES
// events inside into interactions.
//
// # Provider settings
//
// In AWS, the host must:
//
//   - create an SES configuration set with an event destination of type
//     Amazon SNS, publishing at least the Delivery, Open and Click event
//     types, and send every message with that configuration set;
//   - enable open and click tracking (they are on for configuration sets
//     with Open and Click events selected; a custom tracking domain is
//     optional);
//   - subscribe the endpoint to the SNS topic over HTTPS, with raw message
//     delivery off (raw deliveries are not signed), and confirm the
//     subscription ([Confirmation], [WithAutoConfirm]);
//   - send every message with message tags naming the campaign and the
//     user, by default campaign_id=newsletter and user_id=ann (the Tags
//     of SendEmail, or the X-SES-MESSAGE-TAGS header); see
//     [webhook.Mapping];
//   - to report link aliases, tag links in the HTML with the alias tag, by
//     default <a ses:tags="link_alias:cta;" href="…"> ([WithAliasTag]).
//
// # Mapping
//
//	SES event (SNS Message)   event.Event
//	eventType "Delivery"      Kind email_received, Time delivery.timestamp
//	eventType "Open"          Kind email_opened, Time open.timestamp
//	eventType "Click"         Kind email_clicked, Time click.timestamp,
//	                          Properties {"url": click.link}; and, when
//	                          click.linkTags has the alias tag, a second
//	                          event email_alias_clicked with Target = its
//	                          value
//	other event types         skipped (Send, Bounce, Complaint, Reject,
//	                          DeliveryDelay, Rendering Failure, Subscription)
//	SNS MessageId             ID (the alias event: MessageId + "/alias")
//	mail.tags.campaign_id[0]  CampaignID
//	mail.tags.user_id[0]      UserID
//
// Send is skipped on purpose: it means SES accepted the message, not that
// the recipient's server did, which Delivery reports. The event's own
// timestamp falls back to mail.timestamp when absent. An alias click is
// reported both as email_clicked (a click on any link) and as
// email_alias_clicked, so that triggers on either see it. Identity
// notifications (notificationType instead of eventType) are read the same
// way, but they carry no tags unless published by a configuration set.
// SNS messages that are not SES events, such as the test message SES
// publishes when the destination is created, are skipped.
//
// # Trust
//
// A message is accepted when its SNS signature verifies with the
// certificate at SigningCertURL, which must be an https URL on SNS's own
// host, sns.<region>.amazonaws.com (sns.cn-<…>.amazonaws.com.cn in China),
// and is fetched through the host's HTTP client ([WithHTTPClient]). The
// certificate must name SNS (sns.amazonaws.com, or sns.<region>,
// sns-<region> or sns-signing.<region> under amazonaws.com or
// amazonaws.com.cn) and chain to the system's roots ([WithRoots]): SNS
// serves it without its issuer, which the parser fetches from the address
// the certificate names. Its key is cached until it expires.
//
// SNS signs the messages of every AWS account's topics alike: anyone can
// publish a message of their choosing (naming any user and campaign) to a
// topic of their own, receive it signed, and post it to the endpoint. In
// production, always pass [WithTopics] with the host's own topics: without
// it, which tests may leave out, a message of any topic is accepted.
//
// SNS timestamps are not checked for age unless [WithMaxAge] asks: SNS
// retries a notification with its original signature and Timestamp, and
// the engine ignores events it has already seen within its deduplication
// window. A captured message replayed after that window counts again;
// WithMaxAge refuses it, with a [*webhook.AgeError]. In production, pass
// WithMaxAge (2*time.Hour, say): the check is off by default so that a
// parser on the system clock still reads recorded messages, such as the
// samples AWS publishes.
//
// # Testing
//
// [github.com/campaignconnector/campaignconnector/webhook/ses/sestest]
// plays SNS in a host's tests: a certificate authority and a signing
// certificate of its own, an HTTP client that serves them to the parser
// (the options for New), and signed messages for the host's endpoint.
package ses

import (
	"bytes"
	"crypto/x509"
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

// DefaultAliasTag is the link tag that names a link's alias unless
// [WithAliasTag] says otherwise.
const DefaultAliasTag = "link_alias"

const (
	provider       = "ses"
	defaultTimeout = 10 * time.Second
	maxCerts       = 16
)

// Parser verifies SNS messages and reads the SES events they carry. It is
// safe for concurrent use.
type Parser struct {
	client      *http.Client
	roots       *x509.CertPool // nil: the system's
	mapping     webhook.Mapping
	aliasTag    string
	topics      map[string]bool // nil: any topic
	autoConfirm bool
	certs       *certCache
	clock       webhook.Clock
	maxAge      time.Duration // 0: no limit
}

var _ webhook.IndexedParser = (*Parser)(nil)

// Option configures a [Parser]; pass options to [New].
type Option func(*Parser) error

// WithHTTPClient sets the client that fetches SNS signing certificates and,
// with [WithAutoConfirm], confirms subscriptions. Defaults to a client with
// a 10 s timeout that follows no redirects.
func WithHTTPClient(c *http.Client) Option {
	return func(p *Parser) error {
		if c == nil {
			return errors.New("ses: nil HTTP client")
		}
		p.client = c
		return nil
	}
}

// WithRoots sets the certificate authorities an SNS signing certificate
// must chain to. Defaults to the system's roots, which hold Amazon's.
func WithRoots(pool *x509.CertPool) Option {
	return func(p *Parser) error {
		if pool == nil {
			return errors.New("ses: nil root pool")
		}
		p.roots = pool
		return nil
	}
}

// WithMapping sets the message tag names that carry the campaign and user
// ids. Defaults to the zero [webhook.Mapping]: "campaign_id", "user_id".
func WithMapping(m webhook.Mapping) Option {
	return func(p *Parser) error {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("ses: %w", err)
		}
		p.mapping = m
		return nil
	}
}

// WithAliasTag sets the link tag whose value is the link's alias, reported
// as email_alias_clicked; "" turns alias clicks off. Defaults to
// [DefaultAliasTag].
func WithAliasTag(tag string) Option {
	return func(p *Parser) error {
		p.aliasTag = tag
		return nil
	}
}

// WithTopics accepts only messages from the given SNS topic ARNs
// (arn:aws:sns:<region>:<account>:<topic>); others are rejected as
// [webhook.ErrSignature]. Defaults to any topic, which is no protection
// against a message signed for another AWS account's topic: pass it in
// production.
func WithTopics(arns ...string) Option {
	return func(p *Parser) error {
		if len(arns) == 0 {
			return errors.New("ses: WithTopics needs at least one topic ARN")
		}
		p.topics = make(map[string]bool, len(arns))
		for _, a := range arns {
			if err := checkTopicARN(a); err != nil {
				return err
			}
			p.topics[a] = true
		}
		return nil
	}
}

// checkTopicARN reports an ARN that no SNS message can carry: the parser
// compares TopicArn byte for byte, so such an ARN would reject every
// message.
func checkTopicARN(arn string) error {
	if arn == "" {
		return errors.New("ses: WithTopics: empty topic ARN")
	}
	parts := strings.Split(arn, ":")
	ok := len(parts) == 6 && parts[0] == "arn" && strings.HasPrefix(parts[1], "aws") && parts[2] == "sns" &&
		awsRegion.MatchString(parts[3]) && len(parts[4]) == 12 && strings.Trim(parts[4], "0123456789") == "" && validTopicName(parts[5])
	if !ok {
		return fmt.Errorf("ses: WithTopics: %q is not an SNS topic ARN: want arn:aws:sns:<region>:<12-digit account>:<topic name>", arn)
	}
	return nil
}

// validTopicName reports whether name can name an SNS topic: 1 to 256
// letters, digits, hyphens and underscores, with ".fifo" at the end of a
// FIFO topic's.
func validTopicName(name string) bool {
	name = strings.TrimSuffix(name, ".fifo")
	if name == "" || len(name) > 256 {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// WithMaxAge rejects messages whose SNS Timestamp (when SNS published
// them, part of what it signs) is more than d away from the clock's now
// (d > 0), with a [*webhook.AgeError] (it wraps [webhook.ErrSignature]):
// against captured messages replayed
// after the engine's deduplication window. SNS stops retrying an HTTPS
// delivery within an hour of publishing it (its delivery policies cannot
// retry longer), and a retry keeps the original Timestamp, so any d over
// an hour, plus the clocks' skew, refuses no genuine message; keep d below
// the engine's deduplication window. Defaults to no limit.
func WithMaxAge(d time.Duration) Option {
	return func(p *Parser) error {
		if d <= 0 {
			return fmt.Errorf("ses: max age must be positive, got %v", d)
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
		if err := wire.CheckClock("ses", c); err != nil {
			return err
		}
		p.clock = c
		return nil
	}
}

// WithAutoConfirm makes Parse confirm verified subscription confirmations
// itself, by fetching their SubscribeURL with the HTTP client. It requires
// [WithTopics], so that only the host's own topics get confirmed. A failed
// confirmation is a transient error (the handler answers 500 and SNS sends
// the confirmation again).
func WithAutoConfirm() Option {
	return func(p *Parser) error {
		p.autoConfirm = true
		return nil
	}
}

// New returns a parser.
// An option it cannot use is an error wrapping [webhook.ErrInvalidOption].
func New(opts ...Option) (*Parser, error) {
	p := &Parser{aliasTag: DefaultAliasTag, certs: newCertCache(maxCerts)}
	for _, o := range opts {
		if o == nil {
			return nil, optionerr.Mark(webhook.ErrInvalidOption, errors.New("ses: nil option"))
		}
		if err := o(p); err != nil {
			return nil, optionerr.Mark(webhook.ErrInvalidOption, err)
		}
	}
	if p.autoConfirm && p.topics == nil {
		return nil, optionerr.Mark(webhook.ErrInvalidOption, errors.New("ses: WithAutoConfirm requires WithTopics: any AWS account can subscribe the endpoint to its topics"))
	}
	if p.client == nil {
		p.client = defaultClient()
	}
	if p.clock == nil {
		p.clock = webhook.SystemClock{}
	}
	return p, nil
}

// Parse verifies the SNS message and returns the events of the SES event
// it carries; see the package documentation for the mapping and
// [webhook.Parser] for the errors. A verified (un)subscription
// confirmation is returned as a [*Confirmation] error.
func (p *Parser) Parse(r *http.Request, body []byte) ([]event.Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("ses: %w: want an SNS JSON message: %w", webhook.ErrPayload, err)
	}
	switch env.Type {
	case TypeNotification, TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
	default:
		return nil, fmt.Errorf("ses: %w: unknown SNS message Type %q", webhook.ErrPayload, env.Type)
	}
	if err := p.verify(r.Context(), &env); err != nil {
		return nil, err
	}
	if env.Type != TypeNotification {
		c := &Confirmation{
			Type: env.Type, MessageID: env.MessageID, TopicArn: env.TopicArn,
			Token: env.Token, SubscribeURL: env.SubscribeURL, Message: env.Message,
		}
		if p.autoConfirm && env.Type == TypeSubscriptionConfirmation {
			if err := c.Confirm(r.Context(), p.client); err != nil {
				return nil, err
			}
			c.Confirmed = true
		}
		return nil, c
	}
	events, err := p.events(env.MessageID, []byte(env.Message))
	if err != nil {
		return nil, &webhook.ItemError{Provider: provider, Index: 0, ProviderEventID: env.MessageID, Err: err}
	}
	return events, nil
}

// Provider returns "ses", the name its item errors carry
// ([webhook.NamedParser]).
func (p *Parser) Provider() string { return provider }

// ParseIndexed is [Parser.Parse] for the [webhook.Handler]
// ([webhook.IndexedParser]): Amazon SNS posts one item per request, so each
// event comes from item 0.
func (p *Parser) ParseIndexed(r *http.Request, body []byte) ([]event.Event, []int, error) {
	events, err := p.Parse(r, body)
	return events, make([]int, len(events)), err
}

// sesEvent is the part of an SES event the parser reads.
type sesEvent struct {
	EventType        string `json:"eventType"`
	NotificationType string `json:"notificationType"`
	Mail             struct {
		Timestamp string              `json:"timestamp"`
		Tags      map[string][]string `json:"tags"`
	} `json:"mail"`
	Delivery *struct {
		Timestamp string `json:"timestamp"`
	} `json:"delivery"`
	Open *struct {
		Timestamp string `json:"timestamp"`
	} `json:"open"`
	Click *struct {
		Timestamp string              `json:"timestamp"`
		Link      string              `json:"link"`
		LinkTags  map[string][]string `json:"linkTags"`
	} `json:"click"`
}

// kinds maps the SES event types that are interactions.
var kinds = map[string]event.Kind{
	"Delivery": event.EmailReceived,
	"Open":     event.EmailOpened,
	"Click":    event.EmailClicked,
}

// events translates the SES event in msg.
func (p *Parser) events(id string, msg []byte) ([]event.Event, error) {
	if t := bytes.TrimSpace(msg); len(t) == 0 || t[0] != '{' {
		return nil, nil // not an SES event: SES's own test message, say
	}
	var se sesEvent
	if err := json.Unmarshal(msg, &se); err != nil {
		return nil, fmt.Errorf("%w: SES event: %w", webhook.ErrBadItem, err)
	}
	typ := se.EventType
	if typ == "" {
		typ = se.NotificationType
	}
	kind, ok := kinds[typ]
	if !ok {
		return nil, nil
	}
	if id == "" {
		return nil, fmt.Errorf("%w: SNS message without MessageId", webhook.ErrBadItem)
	}
	stamp := ""
	switch {
	case kind == event.EmailReceived && se.Delivery != nil:
		stamp = se.Delivery.Timestamp
	case kind == event.EmailOpened && se.Open != nil:
		stamp = se.Open.Timestamp
	case kind == event.EmailClicked && se.Click != nil:
		stamp = se.Click.Timestamp
	}
	if stamp == "" {
		stamp = se.Mail.Timestamp
	}
	at, err := wire.RFC3339(stamp)
	if err != nil {
		return nil, fmt.Errorf("%w: %s timestamp %q: %w", webhook.ErrBadItem, typ, stamp, err)
	}
	campaignID, userID, err := p.mapping.Resolve(func(k string) string { return first(se.Mail.Tags[k]) })
	if err != nil {
		return nil, err
	}
	ev := event.Event{ID: id, UserID: userID, Kind: kind, CampaignID: campaignID, Time: at}
	if kind != event.EmailClicked || se.Click == nil {
		return []event.Event{ev}, nil
	}
	ev.Properties = wire.URLProperty(se.Click.Link)
	events := []event.Event{ev}
	if alias := first(se.Click.LinkTags[p.aliasTag]); p.aliasTag != "" && alias != "" {
		a := ev
		a.ID, a.Kind, a.Target = id+"/alias", event.EmailAliasClicked, alias
		a.Properties = wire.URLProperty(se.Click.Link) // a map of its own
		events = append(events, a)
	}
	return events, nil
}

// first returns the first value of an SES tag, "" when there is none.
func first(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}
