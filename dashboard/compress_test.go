package dashboard

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZip"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"deflate, gzip;q=1.0, br"}, true},
		{[]string{"br", "gzip"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"gzip;q=0.001"}, true},
		{[]string{"gzip;q=junk"}, true}, // an unreadable q counts as 1
		{[]string{"identity"}, false},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=0, *"}, false}, // the name outranks the star
		{[]string{"gzip, *;q=0"}, true},
		{[]string{"br, *;q=0.1"}, true},
		{[]string{"gzipper"}, false},
	} {
		if got := acceptsGzip(tc.header); got != tc.want {
			t.Errorf("Accept-Encoding %q: %v, want %v", tc.header, got, tc.want)
		}
	}
}

// TestPagesAreCompressedForClientsThatAcceptIt: a page asked for with
// gzip comes compressed, says so, and decompresses to the page asked for
// without it; both answers vary on Accept-Encoding, for caches. An error
// page stays as it is.
func TestPagesAreCompressedForClientsThatAcceptIt(t *testing.T) {
	h := mustHandler(t, populatedFake())
	serve := func(target, enc string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, target := range []string{"/", "/campaign?id=resend", "/health"} {
		plain, zipped := serve(target, ""), serve(target, "gzip, deflate")
		if plain.Code != http.StatusOK || zipped.Code != http.StatusOK {
			t.Fatalf("%s: status %d and %d", target, plain.Code, zipped.Code)
		}
		if got := plain.Header().Get("Content-Encoding"); got != "" {
			t.Errorf("%s without gzip: Content-Encoding %q", target, got)
		}
		if got := zipped.Header().Get("Content-Encoding"); got != "gzip" {
			t.Fatalf("%s with gzip: Content-Encoding %q", target, got)
		}
		for _, rec := range []*httptest.ResponseRecorder{plain, zipped} {
			if v := rec.Header().Values("Vary"); !strings.Contains(strings.Join(v, ","), "Accept-Encoding") {
				t.Errorf("%s: Vary %q", target, v)
			}
		}
		zr, err := gzip.NewReader(zipped.Body)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		if !bytes.Equal(got, plain.Body.Bytes()) {
			t.Errorf("%s: the compressed page differs from the page (%d bytes against %d)", target, len(got), plain.Body.Len())
		}
		if zipped.Body.Len() >= plain.Body.Len() {
			t.Errorf("%s: compressed %d bytes, the page %d", target, zipped.Body.Len(), plain.Body.Len())
		}
	}
	if rec := serve("/nothing-here", "gzip"); rec.Code != http.StatusNotFound || rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("an error page: status %d, Content-Encoding %q", rec.Code, rec.Header().Get("Content-Encoding"))
	}
	if rec := serve("/", "gzip;q=0"); rec.Header().Get("Content-Encoding") != "" {
		t.Error("a client refusing gzip got it")
	}
}

// TestPagesAskedForByOtherSitesAreNotCompressed: a page asked for by
// another site's page (an image, a frame, a link or a form there: the
// browser says so in Sec-Fetch-Site) goes out as it is. Such a request
// can carry text of that site's choosing that the page shows back (the
// campaigns page's cursors), next to the dashboard's figures and IDs,
// with the viewer's credentials: compressed, the size of its answer, seen
// on the network, would tell guess by guess how much of the text matches
// the page (BREACH), which masking the form token does not prevent for
// the rest of the page. The dashboard's own requests (its links, its live
// refresh), an address typed or bookmarked, and clients that do not say
// are compressed as before.
func TestPagesAskedForByOtherSitesAreNotCompressed(t *testing.T) {
	h := mustHandler(t, populatedFake())
	for _, tc := range []struct {
		site string
		want string
	}{
		{"", "gzip"},
		{"same-origin", "gzip"},
		{"none", "gzip"},
		{"Same-Origin", "gzip"},
		{"cross-site", ""},
		{"same-site", ""},
		{"something-new", ""},
	} {
		req := httptest.NewRequest(http.MethodGet, "/?after=a&originals_after=guess", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		if tc.site != "" {
			req.Header.Set("Sec-Fetch-Site", tc.site)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("Sec-Fetch-Site %q: status %d", tc.site, rec.Code)
		}
		if got := rec.Header().Get("Content-Encoding"); got != tc.want {
			t.Errorf("Sec-Fetch-Site %q: Content-Encoding %q, want %q", tc.site, got, tc.want)
		}
		if tc.want == "" && !strings.Contains(rec.Body.String(), "originals_after=guess") {
			t.Errorf("Sec-Fetch-Site %q: the page is not the plain page", tc.site)
		}
	}
}

// TestPagesAreNotCompressedTwice: a host's middleware that compresses
// every answer and says so before the handler writes (as gin-contrib/gzip
// long did) gets the page as it is, which it compresses once: a
// page compressed by both would decode, in the browser, to gzip bytes.
func TestPagesAreNotCompressedTwice(t *testing.T) {
	h := mustHandler(t, populatedFake())
	zipping := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		rec := httptest.NewRecorder()
		for k, v := range w.Header() {
			rec.Header()[k] = v
		}
		h.ServeHTTP(rec, r)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(rec.Body.Bytes())
		_ = zw.Close()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(buf.Bytes())
	})
	plain := get(t, h, "/")
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	zipping.ServeHTTP(rec, req)
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain.Body.Bytes()) {
		t.Errorf("the page decoded once is not the page (%d bytes, starting %q)", len(got), got[:min(len(got), 16)])
	}
}
