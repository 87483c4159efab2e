// Package sestest plays Amazon SNS delivering SES events in a host's
// tests. An [SNS] is a certificate authority (a root and an intermediate,
// as Amazon's), an RSA signing key with a certificate that authority
// issued for sns.amazonaws.com, and an http.RoundTripper that serves that
// certificate at SNS-looking URLs, serves the intermediate at the address
// the certificate names, and answers subscription confirmations. The ses
// parser is pointed at it with [SNS.Options] (its HTTP client and its
// root pool, for [ses.WithHTTPClient] and [ses.WithRoots]); [SNS.Request]
// makes the signed requests SNS posts.
//
// A host's test of its own endpoint:
//
//	sns := sestest.New(t)
//	parser, err := ses.New(sns.Options()...)
//	handler, err := webhook.NewHandler(parser, engine)
//	open := []byte(`{"eventType":"Open","mail":{"timestamp":"2026-01-06T09:00:00Z",
//		"tags":{"campaign_id":["newsletter"],"user_id":["ann"]}},"open":{"timestamp":"2026-01-06T09:00:00Z"}}`)
//	w := httptest.NewRecorder()
//	handler.ServeHTTP(w, sns.Request(t, "/webhooks/ses", sns.Notification(topicArn, open)))
//	// w.Code is 200, and the engine tracked ann's open.
//
// Rules use the event's own time ("open.timestamp" here; the event type's
// own object, or "mail.timestamp" without one): the example's date suits
// an engine on a mock clock set before it (connectortest's starts on
// 2026-01-05). With an engine on the system clock, stamp it a second after
// the follow-up's publication, or the event happened before it
// (suppressed, before_activation).
//
// A parser with [ses.WithMaxAge] also judges the SNS Timestamp, which
// [SNS.Sign] sets to the system clock's now. Given [ses.WithClock] with a
// mock clock, such a message is refused as a bad signature (401): set
// [Message].Timestamp to the mock clock's now, in SNS's format
// ("2006-01-02T15:04:05.000Z").
//
// Nothing leaves the process: the parser's client goes through the SNS's
// transport. To test how the endpoint copes with AWS failing, wrap
// [SNS.RoundTrip] in a transport of the test's own that answers some
// requests with an error status.
//
// Methods that sign or issue certificates take the test's testing.TB and
// fail the test (with t.Fatalf) if that fails.
package sestest

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/campaignconnector/campaignconnector/webhook/ses"
)

// IssuerURL is where every SNS serves its intermediate certificate, the
// address its signing certificates name as their issuer's. The .invalid
// domain never resolves: only an SNS's transport answers it.
const IssuerURL = "http://crt.sestest.invalid/intermediate.cer"

// SNS is a stand-in for Amazon SNS and the certificate authority behind its
// signing certificates. It is safe for concurrent use.
type SNS struct {
	ca      *authority
	key     *rsa.PrivateKey
	certURL string

	mu        sync.Mutex
	certPEM   []byte
	confirmed []string
}

// New returns an SNS with a certificate authority of its own and a signing
// key no other SNS alive at the same time has. RSA keys are slow to make:
// a key returns to a pool when the test that made its SNS ends, for the
// next SNS to use.
func New(t testing.TB) *SNS {
	t.Helper()
	s := &SNS{ca: newAuthority(t), key: takeKey(t)}
	s.certURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-" + hex.EncodeToString(randomBytes(16)) + ".pem"
	s.certPEM = s.ca.issue(t, &s.key.PublicKey, []string{"sns.amazonaws.com"}, notBefore, notAfter)
	return s
}

// Options returns the options that make a parser trust this SNS: its HTTP
// client ([ses.WithHTTPClient]) and its root pool ([ses.WithRoots]).
func (s *SNS) Options() []ses.Option {
	return []ses.Option{ses.WithHTTPClient(s.Client()), ses.WithRoots(s.Roots())}
}

// Client returns an HTTP client whose transport is s.
func (s *SNS) Client() *http.Client { return &http.Client{Transport: s} }

// Roots returns a pool holding the root of s's certificate authority.
func (s *SNS) Roots() *x509.CertPool { return s.ca.roots }

// CertURL returns the SigningCertURL of the messages s signs: an https
// URL on sns.us-east-1.amazonaws.com.
func (s *SNS) CertURL() string { return s.certURL }

// Confirmed returns the topic ARNs of the subscriptions confirmed through
// s (by fetching a SubscribeURL), in order.
func (s *SNS) Confirmed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.confirmed...)
}

// snsHost matches the hosts SNS serves from, in every partition.
var snsHost = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// RoundTrip implements http.RoundTripper, playing AWS: a GET of any .pem
// URL on an SNS host (sns.<region>.amazonaws.com) returns the signing
// certificate, a GET of [IssuerURL] the intermediate certificate (DER), and
// a GET of a ConfirmSubscription URL on an SNS host confirms the
// subscription. Any other request gets 404.
func (s *SNS) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close() // a RoundTripper closes the request body
	}
	reply := func(status int, body []byte) (*http.Response, error) {
		return &http.Response{
			StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: make(http.Header), Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
		}, nil
	}
	u := req.URL
	onSNS := u.Scheme == "https" && snsHost.MatchString(u.Host)
	switch {
	case req.Method != http.MethodGet:
	case u.String() == IssuerURL:
		return reply(http.StatusOK, s.ca.intermediate.Raw)
	case onSNS && strings.HasSuffix(u.Path, ".pem"):
		s.mu.Lock()
		cert := s.certPEM
		s.mu.Unlock()
		return reply(http.StatusOK, cert)
	case onSNS && u.Query().Get("Action") == "ConfirmSubscription":
		s.mu.Lock()
		s.confirmed = append(s.confirmed, u.Query().Get("TopicArn"))
		s.mu.Unlock()
		return reply(http.StatusOK, []byte("<ConfirmSubscriptionResponse/>"))
	}
	return reply(http.StatusNotFound, nil)
}
