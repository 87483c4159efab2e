package dashboard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzQueryParameters requests every page with any query string, as a
// hostile visitor may send it: each gets a page or a 4xx, never a 5xx
// nor a panic, and the page is valid UTF-8 holding no markup of the query
// (the layout's one script tag only).
func FuzzQueryParameters(f *testing.F) {
	e, _ := resendEngine(f)
	h, err := New(e, quietLogger(), WithActions())
	if err != nil {
		f.Fatal(err)
	}
	pages := []string{"/", "/campaign", "/user", "/health"}
	for _, s := range []struct {
		page  uint8
		query string
	}{
		{0, "after=ann&originals_after=x&original=resend"},
		{1, "id=resend&range=30d&after_due=2026-03-04T15:20:00Z&after_id=x"},
		{1, "id=resend&after_due=9999-12-31T23:59:59-23:59&after_id=%FF"},
		{1, "id=resend&after_due=0000-01-01T00:00:00%2B23:59&after_id=d"},
		{1, "id=%3Cscript%3E&done=1&ref=%00"},
		{1, "id=resend&day=2026-03-01&range=24h&after_due=2026-03-04T15:20:00Z&after_id=x"}, {1, "id=resend&day=0000-00-00"},
		{2, "id=ann&campaign=resend&after=99999999999999999999"},
		{2, "id=%E2%80%AE&after=-1"},
		{3, "range=24h"}, {3, "range=%"}, {0, "a;b=c&&=&%zz"},
	} {
		f.Add(s.page, s.query)
	}
	f.Fuzz(func(t *testing.T, page uint8, query string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path, req.URL.RawQuery = pages[int(page)%len(pages)], query
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s?%.200q: %d %.300s", req.URL.Path, query, rec.Code, rec.Body.String())
		}
		b := rec.Body.String()
		if !utf8.ValidString(b) {
			t.Fatalf("%s?%.200q: the page is not valid UTF-8", req.URL.Path, query)
		}
		if strings.Count(b, "<script") > 1 {
			t.Fatalf("%s?%.200q: markup of the query in the page", req.URL.Path, query)
		}
	})
}
