package dashboard

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// pagePaths are the pages of the populated fake, one of each kind.
var pagePaths = []string{"/", "/campaign?id=resend", "/campaign?id=newsletter", "/campaign?id=cart_reminder",
	"/campaign?id=resend&range=24h", "/campaign?id=resend&range=30d", "/user", "/user?id=ann", "/user?id=nobody", "/health", "/health?range=30d"}

func TestEveryPageRendersWithSecurityHeaders(t *testing.T) {
	h := mustHandler(t, populatedFake())
	for _, p := range append(pagePaths, "/campaign?id=missing", "/static/app.css") {
		t.Run(p, func(t *testing.T) {
			rec := get(t, h, p)
			if rec.Code != http.StatusOK && rec.Code != http.StatusNotFound {
				t.Fatalf("status %d", rec.Code)
			}
			hd := rec.Header()
			csp := hd.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
				if hd.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, hd.Get(k), v)
				}
			}
		})
	}
}

func TestPagesLoadNothingFromOutside(t *testing.T) {
	h := mustHandler(t, populatedFake())
	for _, p := range pagePaths {
		page := body(t, get(t, h, p), http.StatusOK)
		for _, l := range links(page) {
			u, err := url.Parse(l)
			if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(l, "/") {
				t.Errorf("%s links to %q: every link must be relative to the mount point", p, l)
			}
		}
		for _, bad := range []string{"<style", "style=", "<script>", "onclick", "@import", "url("} {
			if strings.Contains(page, bad) {
				t.Errorf("%s contains %q: the policy allows no inline style or script", p, bad)
			}
		}
	}
}

// crawl follows every link and GET form (submitted empty) from the start
// addresses through h and returns the status of each address it reached.
func crawl(t *testing.T, h http.Handler, limit int, start ...string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	queue := start
	for len(queue) > 0 && len(seen) < limit {
		next := queue[0]
		queue = queue[1:]
		if _, ok := seen[next]; ok {
			continue
		}
		rec := get(t, h, next)
		seen[next] = rec.Code
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			continue
		}
		base, _ := url.Parse(next)
		for _, l := range links(rec.Body.String()) {
			if strings.HasPrefix(l, "#") || l == "action" { // a POST form
				continue
			}
			ref, err := url.Parse(l)
			if err != nil {
				t.Fatalf("%s: bad link %q", next, l)
			}
			u := base.ResolveReference(ref)
			u.Fragment = ""
			queue = append(queue, u.RequestURI())
		}
	}
	return seen
}

func TestEveryLinkUnderAPrefixStaysUnderItAndWorks(t *testing.T) {
	h := mustHandler(t, populatedFake(), WithPrefix("/ops/cc"))
	seen := crawl(t, h, 400, "/ops/cc/", "/ops/cc/user?id=ann") // a user, as the lookup form asks
	for addr, code := range seen {
		if !strings.HasPrefix(addr, "/ops/cc/") {
			t.Errorf("a link leads out of the mount point: %s", addr)
		}
		if code != http.StatusOK {
			t.Errorf("GET %s: %d", addr, code)
		}
	}
	for _, want := range []string{"/ops/cc/health", "/ops/cc/campaign?id=resend", "/ops/cc/user?id=u000", "/ops/cc/campaign?id=resend&range=24h"} {
		if _, ok := seen[want]; !ok {
			t.Errorf("no link reaches %s (reached %d addresses)", want, len(seen))
		}
	}
	if len(seen) < 20 {
		t.Errorf("reached only %d addresses", len(seen))
	}
}

func TestPrefix(t *testing.T) {
	h := mustHandler(t, populatedFake(), WithPrefix("/ops/cc"))
	for _, tc := range []struct {
		name, target string
		status       int
		location     string
	}{
		{"the prefix itself goes to its directory", "/ops/cc", http.StatusMovedPermanently, "cc/"},
		{"the query goes along", "/ops/cc?x=1", http.StatusMovedPermanently, "cc/?x=1"},
		{"the pages are under it", "/ops/cc/health", http.StatusOK, ""},
		{"nothing outside it", "/health", http.StatusNotFound, ""},
		{"nor beside it", "/ops/ccx/health", http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, h, tc.target)
			if rec.Code != tc.status || rec.Header().Get("Location") != tc.location {
				t.Errorf("GET %s: %d Location %q, want %d %q", tc.target, rec.Code, rec.Header().Get("Location"), tc.status, tc.location)
			}
		})
	}
}

// TestAMountWithoutItsPrefixSaysHowToFixIt: a dashboard mounted under a
// path with neither WithPrefix nor http.StripPrefix answers its pages'
// paths with a 404 that names the option to use; one with a prefix says
// where it is served.
func TestAMountWithoutItsPrefixSaysHowToFixIt(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/ops/", mustHandler(t, populatedFake()))
	for _, target := range []string{"/ops/", "/ops/campaign?id=resend", "/ops/static/app.css"} {
		rec := get(t, mux, target)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `dashboard.WithPrefix(&#34;/ops&#34;)`) {
			t.Errorf("GET %s: %d %s", target, rec.Code, rec.Body.String())
		}
	}
	rec := get(t, mustHandler(t, populatedFake()), "/nothing-here")
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "WithPrefix") {
		t.Errorf("GET /nothing-here: %d %s", rec.Code, rec.Body.String())
	}
	rec = get(t, mustHandler(t, populatedFake(), WithPrefix("/ops/cc")), "/ops/health")
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `served under &#34;/ops/cc/&#34;`) {
		t.Errorf("GET /ops/health under /ops/cc: %d %s", rec.Code, rec.Body.String())
	}
}

// TestStatusesOfOtherMethods: the 404 page for a mount without its prefix
// changes no status: a method other than GET or HEAD on a path no method
// has is a 404, on a page a 405 that allows the page's own methods.
func TestStatusesOfOtherMethods(t *testing.T) {
	for _, prefix := range []string{"", "/ops/cc"} {
		var opts []Option
		if prefix != "" {
			opts = append(opts, WithPrefix(prefix))
		}
		h := mustHandler(t, populatedFake(), opts...)
		for _, tc := range []struct {
			method, path string
			status       int
			allow        string
		}{
			{http.MethodPost, "/nothing", http.StatusNotFound, ""},
			{http.MethodPut, "/nothing", http.StatusNotFound, ""},
			{http.MethodDelete, "/a/b", http.StatusNotFound, ""},
			{http.MethodPost, "/static", http.StatusNotFound, ""},
			{http.MethodPut, "/campaign", http.StatusMethodNotAllowed, "GET, HEAD"},
			{http.MethodPost, "/", http.StatusMethodNotAllowed, "GET, HEAD"},
			{http.MethodPut, "/action", http.StatusMethodNotAllowed, "POST"},
			{http.MethodGet, "/action", http.StatusMethodNotAllowed, "POST"},
			{http.MethodHead, "/action", http.StatusMethodNotAllowed, "POST"},
			{http.MethodHead, "/nothing", http.StatusNotFound, ""},
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, prefix+tc.path, nil))
			if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow {
				t.Errorf("%s %s%s: %d, Allow %q; want %d, Allow %q", tc.method, prefix, tc.path,
					rec.Code, rec.Header().Get("Allow"), tc.status, tc.allow)
			}
		}
	}
}

func TestBadAddressesAreRefusedWithTheirReason(t *testing.T) {
	h := mustHandler(t, populatedFake())
	for _, tc := range []struct {
		target string
		status int
		says   string
	}{
		{"/campaign", http.StatusBadRequest, "needs ?id="},
		{"/campaign?id=missing", http.StatusNotFound, "No campaign"},
		{"/campaign?id=resend&range=1y", http.StatusBadRequest, "unknown range"},
		{"/health?range=1y", http.StatusBadRequest, "unknown range"},
		{"/campaign?id=resend&after_due=yesterday&after_id=d1", http.StatusBadRequest, "RFC 3339"},
		{"/campaign?id=resend&after_due=2026-03-04T15:00:00Z", http.StatusBadRequest, "after_id"},
		{"/campaign?id=resend&after_due=" + strings.Repeat("x", 100) + "yz&after_id=d1", http.StatusBadRequest, strings.Repeat("x", 100) + `&#34;`},
		{"/campaign?id=resend&after_due=bad&after_id=" + strings.Repeat("d", 100) + "ef", http.StatusBadRequest, strings.Repeat("d", 100) + `&#34;`},
		{"/user?id=" + strings.Repeat("u", maxUserID+1), http.StatusBadRequest, "longer"},
		{"/campaign?id=" + strings.Repeat("c", maxUserID+1), http.StatusBadRequest, "longer"},
		{"/campaign?id=" + strings.Repeat("c", maxUserID), http.StatusNotFound, "No campaign"},
		{"/nothing-here", http.StatusNotFound, ""},
		{"/static/missing.css", http.StatusNotFound, ""},
	} {
		rec := get(t, h, tc.target)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.says) {
			t.Errorf("GET %.60s: %d %.200q, want %d saying %q", tc.target, rec.Code, rec.Body.String(), tc.status, tc.says)
		}
	}
}

func TestPendingDeliveriesArePagedInDueOrder(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, f)
	target := "/campaign?id=resend"
	var ids []string
	for pages := 0; target != ""; pages++ {
		if pages > 5 {
			t.Fatal("the pages never end")
		}
		page := body(t, get(t, h, target), http.StatusOK)
		pending := section(t, page, `id="pending"`, "</section>")
		for _, m := range regexpDelivery.FindAllStringSubmatch(pending, -1) {
			ids = append(ids, m[1])
		}
		target = ""
		for _, l := range links(pending) {
			if strings.Contains(l, "after_id=") {
				target = "/" + strings.TrimSuffix(l, "#pending")
			}
		}
	}
	if len(ids) != len(f.pending) {
		t.Fatalf("listed %d deliveries over the pages, the fake holds %d", len(ids), len(f.pending))
	}
	for i, id := range ids {
		if want := f.pending[i].Pending.ID; id != want { // the fixture is in (due, ID) order
			t.Fatalf("delivery %d is %s, want %s", i, id, want)
		}
	}
}

func TestTimesAreShownInTheChosenZone(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	h := mustHandler(t, populatedFake(), WithLocation(paris))
	page := body(t, get(t, h, "/campaign?id=resend"), http.StatusOK)
	if !strings.Contains(page, fixtureNow.In(paris).Format(timeLayout)) {
		t.Errorf("the page does not show the clock %s in Paris time", fixtureNow.In(paris).Format(timeLayout))
	}
}

func TestOptionsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"a prefix without a leading slash", []Option{WithPrefix("ops")}},
		{"a prefix with a trailing slash", []Option{WithPrefix("/ops/")}},
		{"a prefix that is not a clean path (dot-dot)", []Option{WithPrefix("/ops/../cc")}},
		{"a prefix that is not a clean path (double slash)", []Option{WithPrefix("/ops//cc")}},
		{"a prefix with a query", []Option{WithPrefix("/ops?cc")}},
		{"basic auth without a password", []Option{WithBasicAuth("admin", "")}},
		{"basic auth with a colon in the user name", []Option{WithBasicAuth("ops:team", "s3cret")}},
		{"a short CSRF key", []Option{WithActions(), WithCSRFKey([]byte("short"))}},
		{"a CSRF key without actions", []Option{WithCSRFKey(make([]byte, 32))}},
		{"a nil logger", []Option{WithLogger(nil)}},
		{"a nil location", []Option{WithLocation(nil)}},
		{"a refresh under a second", []Option{WithRefresh(time.Millisecond)}},
		{"a nil option", []Option{nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newHandler(populatedFake(), tc.opts...); !errors.Is(err, ErrInvalidOption) {
				t.Errorf("error %v, want ErrInvalidOption", err)
			}
		})
	}
	if _, err := New(nil); !errors.Is(err, ErrInvalidOption) || err.Error() != "dashboard: nil engine" {
		t.Errorf("New(nil): error %v, want \"dashboard: nil engine\" wrapping ErrInvalidOption", err)
	}
	// A prefix written as the mount pattern ("/ops/") is the usual slip: the
	// error gives the prefix and the pattern to use.
	for prefix, want := range map[string]string{
		"/ops/": `prefix "/ops/" must start with "/" and not end with one: WithPrefix("/ops"), mounted with mux.Handle("/ops/", h)`,
		"ops":   `WithPrefix("/ops"), mounted with mux.Handle("/ops/", h)`,
	} {
		if _, err := newHandler(populatedFake(), WithPrefix(prefix)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("WithPrefix(%q): error %v, want it to contain %s", prefix, err, want)
		}
	}
}

func TestStaticFilesAreVersionedByContent(t *testing.T) {
	h := mustHandler(t, populatedFake())
	page := body(t, get(t, h, "/"), http.StatusOK)
	u := assetURL("app.css")
	if !strings.Contains(page, `href="`+u+`"`) {
		t.Fatalf("the page does not link %s", u)
	}
	rec := get(t, h, "/"+u)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("GET %s: %d %v", u, rec.Code, rec.Header())
	}
	if rec := get(t, h, "/static/app.css?v=old"); rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("an old version may be cached: %q", rec.Header().Get("Cache-Control"))
	}
	req := httptest.NewRequest(http.MethodGet, "/static/app.css", nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", rec.Code)
	}
}

var regexpDelivery = regexpMust(`data-delivery="([^"]+)"`)

// TestThePrefixRedirectResolvesUnderIt checks that the redirect from the
// prefix to its directory leads there whatever the prefix's last segment
// holds: a colon must not read as a URL scheme.
func TestThePrefixRedirectResolvesUnderIt(t *testing.T) {
	for _, p := range []string{"/ops/cc", "/ops/v1:cc", "/mailto:x"} {
		h := mustHandler(t, populatedFake(), WithPrefix(p))
		rec := get(t, h, p+"?x=1")
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil {
			t.Fatalf("%s: Location %q: %v", p, rec.Header().Get("Location"), err)
		}
		base, _ := url.Parse("http://host" + p + "?x=1")
		if got := base.ResolveReference(loc); rec.Code != http.StatusMovedPermanently || got.Host != "host" || got.RequestURI() != p+"/?x=1" {
			t.Errorf("GET %s: %d to %q, resolving to %s; want %s/?x=1", p, rec.Code, loc, got, p)
		}
	}
}

// TestAnUncleanPathDoesNotLeadOutOfTheMountPoint checks that a path with
// "..", "." or "//" segments, which browsers clean before they ask but a
// host's router may pass on, is not redirected to an address outside the
// dashboard, whether WithPrefix or the host's http.StripPrefix strips the
// mount point.
func TestAnUncleanPathDoesNotLeadOutOfTheMountPoint(t *testing.T) {
	withPrefix := mustHandler(t, populatedFake(), WithPrefix("/ops/cc"))
	stripped := http.StripPrefix("/ops/cc", mustHandler(t, populatedFake()))
	for name, h := range map[string]http.Handler{"WithPrefix": withPrefix, "http.StripPrefix": stripped} {
		for _, target := range []string{"/ops/cc/x/../health", "/ops/cc/./health", "/ops/cc//health", "/ops/cc/static/../../admin"} {
			rec := get(t, h, target)
			if rec.Header().Get("Location") == "" {
				continue // answered, not sent elsewhere
			}
			loc, err := url.Parse(rec.Header().Get("Location"))
			if err != nil {
				t.Fatalf("%s: GET %s: Location %q: %v", name, target, rec.Header().Get("Location"), err)
			}
			base, _ := url.Parse("http://host" + target)
			if got := base.ResolveReference(loc); !strings.HasPrefix(got.Path, "/ops/cc/") {
				t.Errorf("%s: GET %s: %d to %q, outside the mount point", name, target, rec.Code, got.Path)
			}
		}
	}
}

// TestEitherStripPrefixSpellingWorks checks both ways a host may strip
// the mount point, with and without its trailing slash: the pages answer,
// the root included, and a relative link leads to a page.
func TestEitherStripPrefixSpellingWorks(t *testing.T) {
	for _, prefix := range []string{"/ops/cc", "/ops/cc/"} {
		// Mounted under "/ops/": the host's mux passes on paths beside the
		// mount point too.
		mux := http.NewServeMux()
		mux.Handle("/ops/", http.StripPrefix(prefix, mustHandler(t, populatedFake())))
		for _, target := range []string{"/ops/cc/", "/ops/cc/campaign?id=resend", "/ops/cc/health", "/ops/cc/user?id=ann"} {
			if rec := get(t, mux, target); rec.Code != http.StatusOK {
				t.Errorf("StripPrefix(%q): GET %s: %d (Location %q)", prefix, target, rec.Code, rec.Header().Get("Location"))
			}
		}
		for _, target := range []string{"/ops/cchealth", "/ops/ccuser?id=ann", "/ops/cccampaign?id=resend"} {
			if rec := get(t, mux, target); rec.Code != http.StatusNotFound {
				t.Errorf("StripPrefix(%q): GET %s, beside the mount point: %d, want 404", prefix, target, rec.Code)
			}
		}
		rec := get(t, mux, "/ops/cc")
		if prefix == "/ops/cc" && (rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "cc/") {
			t.Errorf("StripPrefix(%q): GET /ops/cc: %d to %q, want 301 to cc/", prefix, rec.Code, rec.Header().Get("Location"))
		}
		// A slash after the mount point that was part of a name.
		if rec := get(t, mux, "/ops/cc%2Fhealth"); rec.Code != http.StatusNotFound {
			t.Errorf("StripPrefix(%q): GET /ops/cc%%2Fhealth: %d (Location %q), want 404", prefix, rec.Code, rec.Header().Get("Location"))
		}
		// A request the host's router built, without the path asked for:
		// nothing tells where the mount point ended.
		req := httptest.NewRequest(http.MethodGet, "/ops/cchealth", nil)
		req.RequestURI = ""
		rec = httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("StripPrefix(%q): a built request for /ops/cchealth: %d, want 404", prefix, rec.Code)
		}
	}
	// A mount point whose name is escaped redirects to its directory by
	// name, escaped once.
	mux := http.NewServeMux()
	mux.Handle("/ops/", http.StripPrefix("/ops/c c", mustHandler(t, populatedFake())))
	if rec := get(t, mux, "/ops/c%20c"); rec.Header().Get("Location") != "c%20c/" {
		t.Errorf("GET /ops/c%%20c: %d to %q, want c%%20c/", rec.Code, rec.Header().Get("Location"))
	}
}

func TestClipTextCutsAtACharacter(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "",
		strings.Repeat("a", 100):      strings.Repeat("a", 100),
		strings.Repeat("a", 99) + "é": strings.Repeat("a", 99),
		strings.Repeat("\x80", 200):   strings.Repeat("\x80", 97), // not UTF-8: cut near 100, not emptied
	} {
		if got := clipText(in); got != want {
			t.Errorf("clipText(%d bytes): %d bytes %q, want %d", len(in), len(got), got, len(want))
		}
	}
}

// TestIDsNoStoreKeepsAreRefused checks that a user ID or a page cursor no
// store keeps (not UTF-8, a NUL byte) is refused before any store read,
// rather than failing the store.
func TestIDsNoStoreKeepsAreRefused(t *testing.T) {
	h := mustHandler(t, populatedFake())
	for _, target := range []string{"/user?id=a%00b", "/user?id=%ff", "/user?id=%ed%a0%80",
		"/campaign?id=resend&after_due=2026-03-04T15:00:00Z&after_id=%00", "/campaign?id=resend&after_due=2026-03-04T15:00:00Z&after_id=%ff"} {
		if rec := get(t, h, target); rec.Code != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", target, rec.Code)
		}
	}
}

// failingSource fails every read of the campaigns with an error whose
// text the page must not show.
type failingSource struct{ *fakeSource }

func (failingSource) Campaigns(context.Context) ([]store.CampaignRecord, error) {
	return nil, errors.New(`dial tcp 10.0.0.7:5432: password authentication failed for user "cc_app"`)
}

// TestAFailurePageShowsAReferenceNotTheError checks that a failure of the
// engine is logged with a reference and the page shows the reference
// only.
func TestAFailurePageShowsAReferenceNotTheError(t *testing.T) {
	var logged bytes.Buffer
	h := mustHandler(t, failingSource{populatedFake()}, WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	rec := get(t, h, "/")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("GET /: %d, want 503", rec.Code)
	}
	page := rec.Body.String()
	if strings.Contains(page, "cc_app") || strings.Contains(page, "10.0.0.7") {
		t.Error("the page shows the error's text")
	}
	m := regexp.MustCompile(`reference ([A-Z2-7]{10})`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no reference on the page: %s", page)
	}
	if line := logged.String(); !strings.Contains(line, "ref="+m[1]) || !strings.Contains(line, "cc_app") {
		t.Errorf("the log lacks the error under reference %s: %s", m[1], line)
	}
}
