package dashboard

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestTokensDifferOnEveryPage: two pages of one session carry different
// tokens (each masked anew, so that compressed pages do not reveal it),
// and each is accepted; so is the session's token unmasked (a page
// rendered before tokens were masked). A token of another session, one
// whose mask was changed, and one of the wrong length are refused.
func TestTokensDifferOnEveryPage(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, f, WithActions(), WithCSRFKey([]byte(strings.Repeat("k", 32))))
	ck, first := startSession(t, h)
	req := httptest.NewRequest(http.MethodGet, "/campaign?id=resend", nil)
	req.AddCookie(ck)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body(t, rec, http.StatusOK))
	if m == nil {
		t.Fatal("no token on the second page")
	}
	second := m[1]
	if first == second {
		t.Fatalf("two pages of a session carry the same token %q", first)
	}
	_, other := startSession(t, h)
	raw, err := base64.RawURLEncoding.DecodeString(second)
	if err != nil {
		t.Fatal(err)
	}
	raw[0] ^= 1 // a mask changed without its token
	flipped := base64.RawURLEncoding.EncodeToString(raw)
	short := base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1])
	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"the first page's", first, http.StatusSeeOther},
		{"the second page's", second, http.StatusSeeOther},
		{"unmasked", h.csrf.sign(ck.Value), http.StatusSeeOther},
		{"another session's", other, http.StatusForbidden},
		{"a changed mask", flipped, http.StatusForbidden},
		{"one byte short", short, http.StatusForbidden},
	} {
		rec := post(h, url.Values{"op": {opStop}, "id": {"nope"}, "csrf": {tc.token}}, ck, nil)
		// An accepted token reaches the lifecycle, which knows no
		// campaign "nope": 404. A refused one is a 403.
		got := rec.Code
		if got == http.StatusNotFound {
			got = http.StatusSeeOther
		}
		if got != tc.status {
			t.Errorf("%s token: status %d, want %d", tc.name, rec.Code, tc.status)
		}
	}
}
