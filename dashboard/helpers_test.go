package dashboard

import (
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// get serves a GET of target through h.
func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// mustHandler builds a handler over src or fails the test.
func mustHandler(t *testing.T, src source, opts ...Option) *handler {
	t.Helper()
	h, err := newHandler(src, append([]Option{quietLogger()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// quietLogger keeps the handler's logs out of the test output.
func quietLogger() Option { return WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) }

// body returns the recorded body, failing unless the status is want.
func body(t *testing.T, rec *httptest.ResponseRecorder, want int) string {
	t.Helper()
	b, _ := io.ReadAll(rec.Result().Body)
	if rec.Code != want {
		t.Fatalf("status %d, want %d; body:\n%.2000s", rec.Code, want, b)
	}
	return string(b)
}

// section returns the part of page from the first occurrence of start to
// the next occurrence of end after it.
func section(t *testing.T, page, start, end string) string {
	t.Helper()
	i := strings.Index(page, start)
	if i < 0 {
		t.Fatalf("no %q in the page", start)
	}
	rest := page[i:]
	if j := strings.Index(rest, end); j >= 0 {
		return rest[:j]
	}
	return rest
}

// oneLine returns s with each run of white space as one space, as a
// browser shows it: a test of a text does not depend on where the
// template breaks its lines.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// number reads the integer shown in the first element whose opening tag
// carries attrs (written as in the page, e.g. `data-metric="sent"`).
func number(t *testing.T, page, attrs string) int64 {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(attrs) + `[^>]*>([^<]*)<`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no element with %s", attrs)
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(m[1]), "\u202f", ""), 10, 64)
	if err != nil {
		t.Fatalf("element with %s shows %q, not a number", attrs, m[1])
	}
	return n
}

var linkAttr = regexp.MustCompile(`(?:href|src|action)="([^"]*)"`)

// links returns every href, src and action of page, unescaped.
func links(page string) []string {
	var out []string
	for _, m := range linkAttr.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// noError returns a function that fails t on a non-nil error.
func noError(t testing.TB) func(error) {
	return func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}
