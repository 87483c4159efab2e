// Package twiliotest plays Twilio in a host's tests: it holds an auth
// token to pass to [twilio.New] and signs status callbacks (form posts)
// and link-click events (JSON) with it, as Twilio does.
//
// A host's test of its own endpoint:
//
//	s := twiliotest.NewSigner()
//	parser, err := twilio.New(s.AuthToken)
//	handler, err := webhook.NewHandler(parser, engine)
//	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
//	w := httptest.NewRecorder()
//	handler.ServeHTTP(w, s.FormRequest("/webhooks/twilio?campaign_id=promo&user_id=ann", form))
//	// w.Code is 200, and the engine tracked ann's sms_received.
//
// Twilio signs the URL it called. The signer signs the URL the parser
// reconstructs: the request's own (http://example.com/… for a path
// target, as httptest.NewRequest makes it), or, when the parser has
// [twilio.WithBaseURL], the same base URL set as [Signer.BaseURL]. A host
// whose parser has [twilio.WithURLFunc] signs the URL itself with
// [Signer.Sign] and sets the [twilio.SignatureHeader]. So does a test
// that posts through a proxy to a running server: the requests the signer
// makes are signed for the path they are sent to, and a proxy that takes
// a prefix off the path (/api/webhooks/twilio served as /webhooks/twilio)
// needs the URL Twilio would call signed with Sign.
package twiliotest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"

	"github.com/campaignconnector/campaignconnector/webhook/twilio"
)

// Signer signs Twilio requests with AuthToken. It is safe for concurrent
// use.
type Signer struct {
	// AuthToken is the account's auth token: pass it to twilio.New.
	AuthToken string
	// BaseURL is the base URL given to twilio.WithBaseURL, if any
	// ("https://hooks.example.com"); the signed URL is then BaseURL
	// followed by the request's path and query.
	BaseURL string
}

// NewSigner returns a signer with a random auth token (32 hex digits, as
// Twilio's are) and no base URL.
func NewSigner() *Signer {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand never fails
	return &Signer{AuthToken: hex.EncodeToString(b)}
}

// Sign returns the X-Twilio-Signature of a request to fullURL with the
// POST parameters params (nil for a JSON body): the base64 HMAC-SHA1,
// under AuthToken, of fullURL followed by every parameter's name and
// value, names sorted, and a name's distinct values sorted, as Twilio's
// helper libraries compute it.
func (s *Signer) Sign(fullURL string, params url.Values) string {
	mac := hmac.New(sha1.New, []byte(s.AuthToken))
	mac.Write([]byte(fullURL))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		vals := slices.Clone(params[k])
		slices.Sort(vals)
		for _, v := range slices.Compact(vals) {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// FormRequest returns a signed status callback: a form POST of form to
// target, for a handler's ServeHTTP. target is a path with the query the
// host put in the StatusCallback URL
// ("/webhooks/twilio?campaign_id=promo&user_id=ann") or an absolute URL,
// as httptest.NewRequest takes it.
func (s *Signer) FormRequest(target string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twilio.SignatureHeader, s.Sign(s.publicURL(r), form))
	return r
}

// JSONRequest returns a signed link-click event: a JSON POST of body to
// target with the bodySHA256 parameter Twilio adds to the query, for a
// handler's ServeHTTP. body is sent as given, malformed JSON included.
func (s *Signer) JSONRequest(target string, body []byte) *http.Request {
	sum := sha256.Sum256(body)
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	r := httptest.NewRequest(http.MethodPost, target+sep+"bodySHA256="+hex.EncodeToString(sum[:]), bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(twilio.SignatureHeader, s.Sign(s.publicURL(r), nil))
	return r
}

// publicURL is the URL the parser reconstructs for r: BaseURL and the
// request URI, or the request's own scheme, host and request URI.
func (s *Signer) publicURL(r *http.Request) string {
	if s.BaseURL != "" {
		return strings.TrimSuffix(s.BaseURL, "/") + r.URL.RequestURI()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}
