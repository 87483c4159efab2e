package ses

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/internal/wire"
)

// SNS message types.
const (
	TypeNotification             = "Notification"
	TypeSubscriptionConfirmation = "SubscriptionConfirmation"
	TypeUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// envelope is the JSON document SNS posts.
type envelope struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	Token            string `json:"Token"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject"`
	Message          string `json:"Message"`
	SubscribeURL     string `json:"SubscribeURL"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
}

// stringToSign builds the canonical text SNS signs: the listed fields as
// "name\nvalue\n" in byte order, Subject only when present.
func (e *envelope) stringToSign() string {
	var b strings.Builder
	add := func(k, v string) {
		b.WriteString(k)
		b.WriteByte('\n')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	add("Message", e.Message)
	add("MessageId", e.MessageID)
	if e.Type == TypeNotification {
		if e.Subject != "" {
			add("Subject", e.Subject)
		}
	} else {
		add("SubscribeURL", e.SubscribeURL)
	}
	add("Timestamp", e.Timestamp)
	if e.Type != TypeNotification {
		add("Token", e.Token)
	}
	add("TopicArn", e.TopicArn)
	add("Type", e.Type)
	return b.String()
}

// snsHost reports whether host is one SNS serves signing certificates
// and confirmation URLs from: sns.<region>.amazonaws.com, or, in the China
// partition, sns.cn-<…>.amazonaws.com.cn. A region is two letters, words
// and a number ("us-east-1", "us-gov-west-1", "cn-north-1"), which neither
// "s3" nor "s3-us-west-2" are: sns.s3.amazonaws.com is an S3 bucket named
// sns, not SNS.
func snsHost(host string) bool {
	rest, ok := strings.CutPrefix(host, "sns.")
	if !ok {
		return false
	}
	if r, ok := strings.CutSuffix(rest, ".amazonaws.com.cn"); ok {
		return strings.HasPrefix(r, "cn-") && awsRegion.MatchString(r)
	}
	if r, ok := strings.CutSuffix(rest, ".amazonaws.com"); ok {
		return !strings.HasPrefix(r, "cn-") && awsRegion.MatchString(r)
	}
	return false
}

// awsRegion matches an AWS region name.
var awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// snsURL parses raw and checks that it is an https URL on an SNS host, with
// neither credentials nor an explicit port: the only URLs the parser will
// fetch, so that a forged message cannot make the host call elsewhere.
func snsURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "https" || u.User != nil || u.Port() != "" || !snsHost(u.Hostname()) {
		return nil, fmt.Errorf("%q is not an https URL on sns.<region>.amazonaws.com", raw)
	}
	return u, nil
}

// verify checks e's signature with the certificate at SigningCertURL.
func (p *Parser) verify(ctx context.Context, e *envelope) error {
	if e.Signature == "" || e.SigningCertURL == "" {
		return fmt.Errorf("ses: %w: SNS message without Signature or SigningCertURL", webhook.ErrSignature)
	}
	if p.topics != nil && !p.topics[e.TopicArn] {
		return fmt.Errorf("ses: %w: topic %q is not among the accepted topics", webhook.ErrSignature, e.TopicArn)
	}
	var h crypto.Hash
	var digest []byte
	switch e.SignatureVersion {
	case "1":
		sum := sha1.Sum([]byte(e.stringToSign()))
		h, digest = crypto.SHA1, sum[:]
	case "2":
		sum := sha256.Sum256([]byte(e.stringToSign()))
		h, digest = crypto.SHA256, sum[:]
	default:
		return fmt.Errorf("ses: %w: unknown SignatureVersion %q", webhook.ErrSignature, e.SignatureVersion)
	}
	sig, err := base64.StdEncoding.DecodeString(e.Signature)
	if err != nil {
		return fmt.Errorf("ses: %w: Signature is not base64: %w", webhook.ErrSignature, err)
	}
	u, err := snsURL(e.SigningCertURL)
	if err != nil {
		return fmt.Errorf("ses: %w: SigningCertURL: %w", webhook.ErrSignature, err)
	}
	key, err := p.signingKey(ctx, u.String())
	if err != nil {
		return err
	}
	if err := rsa.VerifyPKCS1v15(key, h, digest, sig); err != nil {
		return fmt.Errorf("ses: %w: SNS signature does not match: %w", webhook.ErrSignature, err)
	}
	return p.checkAge(e.Timestamp)
}

// checkAge refuses a message published more than the parser's max age
// away from now, when [WithMaxAge] set one.
func (p *Parser) checkAge(stamp string) error {
	if p.maxAge <= 0 {
		return nil
	}
	at, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return fmt.Errorf("ses: %w: SNS Timestamp %q is not an RFC 3339 time", webhook.ErrSignature, stamp)
	}
	return wire.CheckAge(provider, "SNS Timestamp "+stamp, at, p.clock.Now(), p.maxAge)
}

// Confirmation is a verified SNS subscription or unsubscription
// confirmation. [Parser.Parse] returns it as its error (it wraps
// [webhook.ErrControl], so [webhook.Handler] answers 200 and passes it to
// its error callback); get it with errors.As.
//
// To confirm a subscription, call [Confirmation.Confirm], or let the
// parser do it ([WithAutoConfirm]), or call the SNS ConfirmSubscription
// API with TopicArn and Token.
type Confirmation struct {
	Type string // TypeSubscriptionConfirmation or TypeUnsubscribeConfirmation
	// MessageID, TopicArn, Token, SubscribeURL and Message are the SNS
	// envelope's fields of the same names, as SNS signed them.
	MessageID    string
	TopicArn     string
	Token        string
	SubscribeURL string
	Message      string
	// Confirmed reports that the parser confirmed the subscription itself
	// ([WithAutoConfirm]).
	Confirmed bool
}

// Error implements error: "ses: SNS SubscriptionConfirmation for topic
// arn:aws:sns:…", followed by " (confirmed)" when the parser confirmed it.
func (c *Confirmation) Error() string {
	s := fmt.Sprintf("ses: SNS %s for topic %s", c.Type, c.TopicArn)
	if c.Confirmed {
		s += " (confirmed)"
	}
	return s
}

// Unwrap returns [webhook.ErrControl].
func (c *Confirmation) Unwrap() error { return webhook.ErrControl }

// Confirm confirms the subscription by fetching SubscribeURL with client
// (http.DefaultClient when nil). The URL must be an https URL on an SNS
// host. Confirming an UnsubscribeConfirmation re-subscribes the endpoint.
// It returns nil once SNS answers 200 OK; otherwise an error: a
// SubscribeURL that is not such a URL, the client's error (ctx's among
// them), or the status SNS answered. It blocks for the round trip, as long
// as ctx and the client's timeout allow.
func (c *Confirmation) Confirm(ctx context.Context, client *http.Client) error {
	if client == nil {
		client = http.DefaultClient
	}
	u, err := snsURL(c.SubscribeURL)
	if err != nil {
		return fmt.Errorf("ses: SubscribeURL: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("ses: confirming subscription: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("ses: confirming subscription: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxCertSize))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ses: confirming subscription to %s: %s", c.TopicArn, resp.Status)
	}
	return nil
}

var errNoRedirects = errors.New("ses: redirect refused")

// defaultClient fetches certificates without following redirects, so that
// only the hosts the parser checked are contacted: SNS's, and the issuer's
// address in a signing certificate that names SNS.
func defaultClient() *http.Client {
	return &http.Client{
		Timeout: defaultTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errNoRedirects
		},
	}
}
