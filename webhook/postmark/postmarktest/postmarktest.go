// Package postmarktest plays Postmark in a host's tests. Postmark does not
// sign its webhooks: it sends the HTTP basic auth credentials and the
// custom header set on the webhook. [NewCredentials] makes both, [Credentials.Options]
// gives the options that make [postmark.New] require them, and
// [Credentials.Request] sets them on a request.
//
// A host's test of its own endpoint:
//
//	creds := postmarktest.NewCredentials()
//	parser, err := postmark.New(creds.Options()...)
//	handler, err := webhook.NewHandler(parser, engine)
//	body := []byte(`{"RecordType":"Open","MessageID":"883953f4","ReceivedAt":"2026-01-06T09:00:00Z",
//		"Metadata":{"campaign_id":"newsletter","user_id":"ann"}}`)
//	w := httptest.NewRecorder()
//	handler.ServeHTTP(w, creds.Request("/webhooks/postmark", body))
//	// w.Code is 200, and the engine tracked ann's open.
//
// Rules use the event's own time, its "ReceivedAt" ("DeliveredAt" for a
// delivery): the example's date suits an engine on a mock clock set before
// it (connectortest's starts on 2026-01-05). With an engine on the system
// clock, stamp it a second after the follow-up's publication, or the event
// happened before it (suppressed, before_activation).
//
// A host whose parser takes its credentials from its own configuration
// sets the fields of a [Credentials] to them instead.
package postmarktest

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/http/httptest"

	"github.com/campaignconnector/campaignconnector/webhook/postmark"
)

// DefaultHeaderName is the custom header [NewCredentials] uses.
const DefaultHeaderName = "X-Webhook-Token"

// Credentials are what a Postmark webhook sends to prove where it comes
// from. Empty fields are not sent: User and Password empty, no basic auth;
// HeaderName empty, no custom header.
type Credentials struct {
	User, Password          string // HTTP basic auth
	HeaderName, HeaderValue string // a custom header
}

// NewCredentials returns basic auth credentials (user "postmark", a random
// password) and a custom header ([DefaultHeaderName], a random value).
func NewCredentials() Credentials {
	return Credentials{
		User:        "postmark",
		Password:    rand.Text(),
		HeaderName:  DefaultHeaderName,
		HeaderValue: rand.Text(),
	}
}

// Options returns the options that make [postmark.New] require c: basic
// auth when User or Password is set, the custom header when HeaderName
// is.
func (c Credentials) Options() []postmark.Option {
	var opts []postmark.Option
	if c.User != "" || c.Password != "" {
		opts = append(opts, postmark.WithBasicAuth(c.User, c.Password))
	}
	if c.HeaderName != "" {
		opts = append(opts, postmark.WithHeader(c.HeaderName, c.HeaderValue))
	}
	return opts
}

// Header returns the headers Postmark sends: Authorization for basic auth,
// the custom header, and the JSON content type.
func (c Credentials) Header() http.Header {
	r := http.Request{Header: make(http.Header)}
	r.Header.Set("Content-Type", "application/json")
	if c.User != "" || c.Password != "" {
		r.SetBasicAuth(c.User, c.Password)
	}
	if c.HeaderName != "" {
		r.Header.Set(c.HeaderName, c.HeaderValue)
	}
	return r.Header
}

// Request returns a POST of body to target carrying c, for a handler's
// ServeHTTP. target is a path ("/webhooks/postmark") or an absolute URL,
// as httptest.NewRequest takes it.
func (c Credentials) Request(target string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	for k, v := range c.Header() {
		r.Header[k] = v
	}
	return r
}
