// Package mailguntest plays Mailgun in a host's tests: it holds an HTTP
// webhook signing key to pass to [mailgun.New] and signs webhook bodies
// with it, as Mailgun does.
//
// A host's test of its own endpoint:
//
//	s := mailguntest.NewSigner()
//	parser, err := mailgun.New(s.Key)
//	handler, err := webhook.NewHandler(parser, engine)
//	data := []byte(`{"event":"opened","id":"mg-1","timestamp":1767690000,
//		"user-variables":{"campaign_id":"newsletter","user_id":"ann"}}`)
//	w := httptest.NewRecorder()
//	handler.ServeHTTP(w, s.Request("/webhooks/mailgun", data, time.Now()))
//	// w.Code is 200, and the engine tracked ann's open.
//
// Rules use the event's own time, its "timestamp" in the event data (not
// the signature's, below): the example's date suits an engine on a mock
// clock set before it (connectortest's starts on 2026-01-05). With an
// engine on the system clock, stamp it a second after the follow-up's
// publication, or the event happened before it (suppressed,
// before_activation).
//
// Mailgun signs a timestamp and a random token, not the event: every
// signature made here carries a fresh token, so that the parser's replay
// check accepts it once. The parser judges the timestamp against its clock
// (5 minutes either way by default): sign at the parser's now, the mock
// clock's when the parser has [mailgun.WithClock].
//
// [mailgun.New]: https://pkg.go.dev/github.com/campaignconnector/campaignconnector/webhook/mailgun#New
// [mailgun.WithClock]: https://pkg.go.dev/github.com/campaignconnector/campaignconnector/webhook/mailgun#WithClock
package mailguntest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"
)

// Signer signs Mailgun webhook bodies with Key. It is safe for concurrent
// use.
type Signer struct {
	// Key is the HTTP webhook signing key: pass it to mailgun.New.
	Key string
}

// NewSigner returns a signer with a random key.
func NewSigner() *Signer {
	return &Signer{Key: hex.EncodeToString(randomBytes(16))}
}

// Signature is the "signature" object of a Mailgun webhook body.
type Signature struct {
	Timestamp string `json:"timestamp"` // Unix seconds
	Token     string `json:"token"`     // 50 random characters
	Signature string `json:"signature"` // Sign(Timestamp, Token)
}

// Sign returns the hex HMAC-SHA256, under Key, of timestamp followed by
// token: the "signature" field Mailgun sends.
func (s *Signer) Sign(timestamp, token string) string {
	mac := hmac.New(sha256.New, []byte(s.Key))
	mac.Write([]byte(timestamp))
	mac.Write([]byte(token))
	return hex.EncodeToString(mac.Sum(nil))
}

// Signature returns a signature made at at, with a fresh random token.
func (s *Signer) Signature(at time.Time) Signature {
	ts := strconv.FormatInt(at.Unix(), 10)
	token := hex.EncodeToString(randomBytes(25))
	return Signature{Timestamp: ts, Token: token, Signature: s.Sign(ts, token)}
}

// Body returns the body Mailgun posts for eventData, signed at at:
// {"signature": {…}, "event-data": eventData}. eventData is copied as
// given, malformed JSON included, so that tests can check how the endpoint
// answers a signed but unreadable event; when it is empty, the body has no
// "event-data" at all.
func (s *Signer) Body(eventData []byte, at time.Time) []byte {
	sig, _ := json.Marshal(s.Signature(at)) // three strings: cannot fail
	var b bytes.Buffer
	b.WriteString(`{"signature":`)
	b.Write(sig)
	if len(eventData) > 0 {
		b.WriteString(`,"event-data":`)
		b.Write(eventData)
	}
	b.WriteString("}")
	return b.Bytes()
}

// Request returns a POST to target of the body [Signer.Body] makes, for a
// handler's ServeHTTP. target is a path ("/webhooks/mailgun") or an
// absolute URL, as httptest.NewRequest takes it.
func (s *Signer) Request(target string, eventData []byte, at time.Time) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(s.Body(eventData, at)))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// randomBytes returns n bytes from crypto/rand, which never fails.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
