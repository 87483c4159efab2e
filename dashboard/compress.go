package dashboard

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// minCompressed is the size of page below which compressing it saves too
// little to be worth the work: a page of errors, say.
const minCompressed = 1 << 10

// gzipWriters are reused: a writer holds about a megabyte of compressor
// state, and a page open in a browser is rendered every few seconds.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return w
}}

// compressed returns page compressed with gzip when r accepts it and the
// page is large enough to gain from it, and whether it did. The pages
// are mostly charts drawn in SVG, whose markup repeats: the campaigns
// page of twenty follow-ups, about a megabyte, compresses to well under a
// tenth, which matters for a page that reloads itself every few seconds
// over a VPN or a mobile link.
//
// A page another site's page asked for is not compressed (see
// fromOwnSite), nor one whose header, hd, already has a Content-Encoding:
// a host's middleware that compresses every answer set it, and compresses
// the page itself.
func compressed(r *http.Request, hd http.Header, page []byte) ([]byte, bool) {
	if len(page) < minCompressed || hd.Get("Content-Encoding") != "" || !fromOwnSite(r) ||
		!acceptsGzip(r.Header.Values("Accept-Encoding")) {
		return page, false
	}
	var buf bytes.Buffer
	buf.Grow(len(page) / 8)
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(page); err != nil {
		return page, false
	}
	if err := zw.Close(); err != nil {
		return page, false
	}
	return buf.Bytes(), true
}

// fromOwnSite reports whether r is, as far as the browser says
// (Sec-Fetch-Site), not asked for by another site's page: one of the
// dashboard's (a link, the live refresh), an address typed or
// bookmarked ("none"), or a client that does not say. Another site's page
// can have the browser ask, with the viewer's credentials, for a page
// that shows back text of its choosing (a list's cursor) next to the
// dashboard's IDs and figures: were that answer compressed, its size,
// seen on the network, would tell guess by guess how much of the text
// matches the page (the BREACH attack). Such a page goes out as it is.
func fromOwnSite(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" || strings.EqualFold(site, "same-origin") || strings.EqualFold(site, "none")
}

// acceptsGzip reports whether Accept-Encoding values vs accept gzip:
// named, or matched by "*", with a quality above zero. A value the
// request names explicitly outranks "*" (RFC 9110, section 12.5.3).
func acceptsGzip(vs []string) bool {
	named, any := -1, -1 // -1: not said; 0: refused; 1: accepted
	for _, v := range vs {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			ok := 1
			if q, found := qValue(params); found && q <= 0 {
				ok = 0
			}
			switch name {
			case "gzip", "x-gzip":
				named = ok
			case "*":
				any = ok
			}
		}
	}
	if named >= 0 {
		return named == 1
	}
	return any == 1
}

// qValue reads the q parameter of an Accept-Encoding element's
// parameters (";q=0.5"); found is false when there is none or it does
// not parse, which counts as the default, 1.
func qValue(params string) (q float64, found bool) {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, false
		}
		return q, true
	}
	return 0, false
}
