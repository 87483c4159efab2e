package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Names of the session cookie and of the form field that carries the token.
const (
	sessionCookie = "campaignconnector_dashboard"
	csrfField     = "csrf"
)

// sessionBytes is the size of a session identifier.
const sessionBytes = 32

// Reasons an action is refused.
var (
	errCrossOrigin = errors.New("dashboard: cross-origin request refused")
	errNoSession   = errors.New("dashboard: no session cookie: load the page again and repeat the action")
	errBadToken    = errors.New("dashboard: the form's token does not match the session: load the page again and repeat the action")
)

// csrf protects the action forms twice over. Each browser session gets a
// random identifier in an HttpOnly, SameSite=Strict cookie, and each form
// carries an HMAC of that identifier under a server key, masked anew on
// every page (see masked): a page on
// another site can make the browser send the cookie with a POST, but it
// cannot read the token, and it cannot forge one without the key (nor
// plant a cookie whose token it knows). On top of that, requests that the
// browser marks as cross-origin (Sec-Fetch-Site, Origin) are refused
// before the token is looked at.
type csrf struct {
	key     []byte
	origins *http.CrossOriginProtection
}

func newCSRF(key []byte) (*csrf, error) {
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("dashboard: CSRF key: %w", err)
		}
	}
	return &csrf{key: key, origins: http.NewCrossOriginProtection()}, nil
}

// token returns the form token of r's session, starting a session (a
// cookie set on w) when r has none. The cookie has no Path: the browser
// scopes it to the directory of the page, which is where the dashboard is
// mounted, since every page sits at that one level.
func (c *csrf) token(w http.ResponseWriter, r *http.Request) (string, error) {
	if sid, ok := session(r); ok {
		return masked(c.sign(sid))
	}
	raw := make([]byte, sessionBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("dashboard: session: %w", err)
	}
	sid := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    sid,
		HttpOnly: true,
		Secure:   overTLS(r),
		SameSite: http.SameSiteStrictMode,
	})
	return masked(c.sign(sid))
}

// masked returns token, a session's, as a page carries it: a random mask
// followed by the token XORed with it, different on every page. Pages go
// out compressed, and a page can hold text a third party chose (an
// address's parameters shown back): were the token the same on every
// page, the size of compressed pages that hold both would tell, guess by
// guess, how much of a guess matches it (the BREACH attack).
func masked(token string) (string, error) {
	t, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", fmt.Errorf("dashboard: token: %w", err)
	}
	out := make([]byte, 2*len(t))
	if _, err := rand.Read(out[:len(t)]); err != nil {
		return "", fmt.Errorf("dashboard: token mask: %w", err)
	}
	for i := range t {
		out[len(t)+i] = out[i] ^ t[i]
	}
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// overTLS reports whether r came over TLS, to this server or to a proxy
// in front of it that says so (X-Forwarded-Proto or Forwarded). Trusting
// the headers is safe here: a Secure cookie is only a stricter one, and a
// client that lies about them restricts its own session.
func overTLS(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return true
	}
	pairs := strings.FieldsFunc(strings.ToLower(r.Header.Get("Forwarded")), func(c rune) bool { return c == ';' || c == ',' })
	for _, p := range pairs {
		if v, ok := strings.CutPrefix(strings.TrimSpace(p), "proto="); ok && strings.Trim(v, `"`) == "https" {
			return true
		}
	}
	return false
}

// checkOrigin reports why the POST r must be refused for where it comes
// from, or nil. It reads only r's headers, so that a cross-origin request
// is refused as such whatever its body holds.
func (c *csrf) checkOrigin(r *http.Request) error {
	if err := c.origins.Check(r); err != nil {
		return fmt.Errorf("%w: %w", errCrossOrigin, err)
	}
	return nil
}

// checkToken reports why the POST r must be refused for its session or
// its form's token, or nil. It reads r's form.
func (c *csrf) checkToken(r *http.Request) error {
	sid, ok := session(r)
	if !ok {
		return errNoSession
	}
	got, err := base64.RawURLEncoding.DecodeString(r.PostFormValue(csrfField))
	if err != nil {
		return errBadToken
	}
	want, _ := base64.RawURLEncoding.DecodeString(c.sign(sid))
	if len(got) == 2*len(want) {
		// A masked token (see masked): the mask, then the token XORed
		// with it. An unmasked one, of a page rendered before tokens
		// were masked, is compared as it is.
		mask, xored := got[:len(want)], got[len(want):]
		got = make([]byte, len(want))
		for i := range got {
			got[i] = mask[i] ^ xored[i]
		}
	}
	if !hmac.Equal(got, want) {
		return errBadToken
	}
	return nil
}

// sign returns the token of session sid.
func (c *csrf) sign(sid string) string {
	mac := hmac.New(sha256.New, c.key)
	mac.Write([]byte("campaignconnector dashboard action\x00"))
	mac.Write([]byte(sid))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// session returns r's session identifier, if it has a well-formed one.
func session(r *http.Request) (string, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || len(raw) != sessionBytes {
		return "", false
	}
	return ck.Value, true
}
