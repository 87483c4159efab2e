package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/campaignconnector/campaignconnector/internal/linetext"
	"github.com/campaignconnector/campaignconnector/webhook"
)

// SignatureHeader carries Twilio's request signature.
const SignatureHeader = "X-Twilio-Signature"

// isForm reports whether the request body is form-encoded (a status
// callback) rather than JSON (a click event).
func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// publicURL is the URL Twilio called, as configured.
func (p *Parser) publicURL(r *http.Request) string {
	if p.urlFunc != nil {
		return p.urlFunc(r)
	}
	if p.baseURL != "" {
		return p.baseURL + r.URL.RequestURI()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// Verify checks the X-Twilio-Signature of the request: the base64
// HMAC-SHA1, under the auth token, of the public URL followed, for form
// posts, by every parameter's name and value sorted by name; for other
// bodies, the URL must carry a bodySHA256 parameter holding the hex SHA-256
// of the body. Like Twilio's own validators, it also accepts the signature
// of the URL without its port, or with the scheme's default port when it
// has none. The auth token given to [New] is tried first, the
// [WithPreviousKey] tokens only when it fails. Errors wrap [webhook.ErrSignature],
// or [webhook.ErrPayload] for a form body that cannot be parsed.
func (p *Parser) Verify(r *http.Request, body []byte) error {
	given, err := base64.StdEncoding.DecodeString(r.Header.Get(SignatureHeader))
	if err != nil || len(given) == 0 {
		return fmt.Errorf("twilio: %w: %s header missing or not base64", webhook.ErrSignature, SignatureHeader)
	}
	raw := p.publicURL(r)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("twilio: %w: public URL %q is not absolute", webhook.ErrSignature, raw)
	}
	var params string
	if isForm(r) {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return fmt.Errorf("twilio: %w: form body: %w", webhook.ErrPayload, err)
		}
		params = sortedParams(form)
	} else {
		want := u.Query().Get("bodySHA256")
		sum := sha256.Sum256(body)
		got := hex.EncodeToString(sum[:])
		if want == "" || subtle.ConstantTimeCompare([]byte(strings.ToLower(want)), []byte(got)) != 1 {
			return fmt.Errorf("twilio: %w: bodySHA256 URL parameter missing or not the body's SHA-256", webhook.ErrSignature)
		}
	}
	candidates := withAndWithoutPort(u, raw)
	if p.signed(p.token, candidates, params, given) {
		return nil
	}
	for _, token := range p.previous {
		if p.signed(token, candidates, params, given) {
			return nil
		}
	}
	// The URL checked, without its query (which may name users), says
	// what most mismatches come from: behind a proxy, the URL the
	// process sees is not the one Twilio called.
	checked := *u
	checked.RawQuery, checked.Fragment, checked.User = "", "", nil
	return fmt.Errorf("twilio: %w: signature does not match the URL, body and auth token "+
		"(URL checked: %s, query left out; behind a proxy, give the URL Twilio calls with WithBaseURL or WithURLFunc)%s",
		webhook.ErrSignature, clipURL(checked.String()), p.tokensTried())
}

// signed reports whether given is the signature, under token, of one of
// the candidate URLs followed by params.
func (p *Parser) signed(token []byte, candidates []string, params string, given []byte) bool {
	for _, candidate := range candidates {
		mac := hmac.New(sha1.New, token)
		mac.Write([]byte(candidate))
		mac.Write([]byte(params))
		if hmac.Equal(mac.Sum(nil), given) {
			return true
		}
	}
	return false
}

// clipURL cuts a URL for an error to 256 bytes: a request's path may be
// as long as its sender likes, and the error is logged.
func clipURL(s string) string {
	if c := linetext.Clip(s, 256); len(c) < len(s) {
		return c + "…"
	}
	return s
}

// sortedParams concatenates name and value of every form parameter, names
// sorted, and a name's distinct values sorted, as Twilio's validators do.
func sortedParams(form url.Values) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(form)) {
		vals := slices.Clone(form[k])
		slices.Sort(vals)
		for _, v := range slices.Compact(vals) {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	return b.String()
}

// withAndWithoutPort returns raw, then raw without its port when it has
// one, or with the scheme's default port when it has none: which form
// Twilio signs depends on how the callback URL was written, and Twilio's
// own validators try both.
func withAndWithoutPort(u *url.URL, raw string) []string {
	alt := *u
	switch def := map[string]string{"https": "443", "http": "80"}[u.Scheme]; {
	case u.Port() != "":
		alt.Host = u.Hostname()
		if strings.Contains(alt.Host, ":") { // IPv6 literal
			alt.Host = "[" + alt.Host + "]"
		}
	case def != "":
		alt.Host = u.Host + ":" + def
	default:
		return []string{raw}
	}
	return []string{raw, alt.String()}
}
