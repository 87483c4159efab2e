package dashboard

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// Every query parameter of every page, set to hostile values (invalid
// UTF-8, a NUL, markup, a newline, 5,000 bytes, numbers and times out of
// range, a right-to-left override), gets a page or a 4xx: never a 5xx nor
// a panic, and the page is valid UTF-8 with the markup escaped.
func TestHostileQueryParametersGetNoServerError(t *testing.T) {
	e, _ := resendEngine(t)
	h, err := New(e, quietLogger(), WithActions())
	if err != nil {
		t.Fatal(err)
	}
	vals := []string{"", "x", "\xff", "\x00", "a\nb", strings.Repeat("a", 5000), "<script>", "resend", "-1", "99999999999999999999", "2026-03-04T15:20:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "%", "a b", "\u202e"}
	pages := map[string][]string{
		"/":         {"after", "originals_after", "original"},
		"/campaign": {"id", "range", "day", "after_due", "after_id", "done", "ref"},
		"/user":     {"id", "after", "campaign"},
		"/health":   {"range"},
	}
	for p, keys := range pages {
		for _, k := range keys {
			for _, v := range vals {
				q := url.Values{k: {v}}
				if p == "/campaign" && k != "id" {
					q.Set("id", "resend")
				}
				if k == "after_due" {
					q.Set("after_id", "x")
				}
				target := p + "?" + q.Encode()
				rec := httptest.NewRecorder()
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Errorf("%s: panic %v", target, r)
						}
					}()
					h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
				}()
				if rec.Code >= 500 {
					t.Errorf("%.200q: %d %.300s", target, rec.Code, rec.Body.String())
				}
				b := rec.Body.String()
				if strings.Contains(b, "<script>") || !utf8.ValidString(b) {
					t.Errorf("%.200q: raw hostile text in the page", target)
				}
			}
		}
	}
}
