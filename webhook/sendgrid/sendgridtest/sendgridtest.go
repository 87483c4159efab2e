// Package sendgridtest plays SendGrid in a host's tests: it makes an ECDSA
// key pair, gives the verification key to pass to [sendgrid.New], and signs
// Event Webhook requests with the private half, as SendGrid does.
//
// A host's test of its own endpoint:
//
//	s := sendgridtest.NewSigner(t)
//	parser, err := sendgrid.New(s.VerificationKey())
//	handler, err := webhook.NewHandler(parser, engine)
//	body := []byte(`[{"event":"open","sg_event_id":"sg-1","timestamp":1767690000,"campaign_id":"newsletter","user_id":"ann"}]`)
//	w := httptest.NewRecorder()
//	handler.ServeHTTP(w, s.Request(t, "/webhooks/sendgrid", body, time.Now()))
//	// w.Code is 200, and the engine tracked ann's open.
//
// Rules use the event's own time, its "timestamp" (whole seconds): the
// example's date suits an engine on a mock clock set before it
// (connectortest's starts on 2026-01-05). With an engine on the system
// clock, stamp it a second after the follow-up's publication
// (time.Now().Add(time.Second).Unix()), or the event happened before it
// (suppressed, before_activation).
//
// To post to a running server instead, send the body with the headers of
// [Signer.Header]; that server must verify with this Signer's
// [Signer.VerificationKey]. Every NewSigner makes a new key: start the
// server from the test that signs, give it the key of the Signer that signs
// all its requests, or sign with a key of your own with [NewSignerFromKey].
// The signature covers the signing time and the body as given: the body
// may be any bytes, malformed JSON included, so that tests can check how
// the endpoint answers a signed but unreadable payload.
//
// Methods that sign take the test's testing.TB and fail the test (with
// t.Fatalf) if signing fails.
package sendgridtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
)

// Signer holds a key pair made for the test and signs with it. It is safe
// for concurrent use.
type Signer struct {
	key *ecdsa.PrivateKey
}

// NewSigner makes a fresh ECDSA P-256 key pair, the kind SendGrid signs
// with.
func NewSigner(t testing.TB) *Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("sendgridtest: generating a P-256 key: %v", err)
	}
	return &Signer{key: key}
}

// NewSignerFromKey returns a signer that signs with key, an ECDSA P-256
// private key of the test's own: one whose public half a server started
// elsewhere already verifies with, or the key of a test of a key rotation.
// A nil key, or one without a curve or on another curve, fails the test.
func NewSignerFromKey(t testing.TB, key *ecdsa.PrivateKey) *Signer {
	t.Helper()
	switch {
	case key == nil:
		t.Fatalf("sendgridtest: nil private key")
	case key.Curve == nil:
		t.Fatalf("sendgridtest: private key has no curve, want P-256, the curve SendGrid signs with")
	case key.Curve != elliptic.P256():
		t.Fatalf("sendgridtest: private key is on curve %s, want P-256, the curve SendGrid signs with", key.Curve.Params().Name)
	}
	return &Signer{key: key}
}

// VerificationKey returns the public key as SendGrid's console shows it
// (base64 of the DER PKIX encoding), ready for [sendgrid.New].
func (s *Signer) VerificationKey() string {
	// Marshalling a P-256 public key made by ecdsa.GenerateKey cannot fail.
	der, _ := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	return base64.StdEncoding.EncodeToString(der)
}

// Sign returns the value of the [sendgrid.SignatureHeader] for body sent
// with timestamp as the [sendgrid.TimestampHeader]: the base64 ASN.1 ECDSA
// signature of the SHA-256 of timestamp followed by body. timestamp is
// normally Unix seconds; any text can be signed, to test how the parser
// treats it.
func (s *Signer) Sign(t testing.TB, timestamp string, body []byte) string {
	t.Helper()
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write(body)
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, h.Sum(nil))
	if err != nil {
		t.Fatalf("sendgridtest: signing: %v", err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// Header returns the headers SendGrid sends with body signed at at: the
// signature, the timestamp (at in Unix seconds) and the JSON content type.
func (s *Signer) Header(t testing.TB, body []byte, at time.Time) http.Header {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	h := make(http.Header)
	h.Set("Content-Type", "application/json")
	h.Set(sendgrid.TimestampHeader, ts)
	h.Set(sendgrid.SignatureHeader, s.Sign(t, ts, body))
	return h
}

// Request returns a POST of body to target, signed at at, for a handler's
// ServeHTTP. target is a path ("/webhooks/sendgrid") or an absolute URL, as
// httptest.NewRequest takes it.
func (s *Signer) Request(t testing.TB, target string, body []byte, at time.Time) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	for k, v := range s.Header(t, body, at) {
		r.Header[k] = v
	}
	return r
}
