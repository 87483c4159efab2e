package dashboard

import (
	"bytes"
	"context"
	"errors"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
)

// storeParts are the notes of the health page's parts that read the
// store, which an outage leaves without their figures.
var storeParts = []string{"stats", "clock-skew", "tallies", "warnings"}

// refPattern finds the references the page shows in place of errors.
var refPattern = regexp.MustCompile(`reference ([A-Z2-7]{10})`)

// outageEngine returns an engine on s, on the mock clock clk.
func outageEngine(t *testing.T, s outageStore, clk *clock.Mock) *connector.Engine {
	t.Helper()
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	e, err := connector.New(s, send, connector.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// checkOutagePage checks that the health page says, at its top and in
// each part that reads the store, that the store could not be read, and
// shows neither the error's text nor its markup, escaped or not.
func checkOutagePage(t *testing.T, page string) {
	t.Helper()
	if !strings.Contains(page, `data-note="store"`) {
		t.Fatalf("no statement that the store could not be read:\n%s", page)
	}
	top := section(t, page, `data-note="store"`, "</p>")
	for _, part := range []string{"what it holds", "the clock comparison", "the failed, retried and deferred sends", "the warnings"} {
		if !strings.Contains(top, html.EscapeString(part)) {
			t.Errorf("the statement at the top does not name %q: %s", part, top)
		}
	}
	for _, part := range storeParts {
		attr := `data-note="` + part + `"`
		if !strings.Contains(page, attr) {
			t.Errorf("no notice in place of %s", part)
			continue
		}
		if note := section(t, page, attr, "</p>"); !refPattern.MatchString(note) {
			t.Errorf("the notice of %s gives no reference: %s", part, note)
		}
	}
	if strings.Contains(page, `data-stat="Users"`) || strings.Contains(page, "data-trouble=") || strings.Contains(page, "data-clock-skew=") {
		t.Error("the page shows store figures it could not read")
	}
	for _, leak := range []string{"10.0.0.7", "cc_app", "alert(", "<img"} {
		if strings.Contains(page, leak) {
			t.Errorf("the page shows the error's text %q", leak)
		}
	}
}

// While the store fails every call, the health page is a page of what it
// could read (this engine's own event counts and unknown campaign IDs),
// with a notice in each part that needs the store, a reference to the
// logged error in each, and a statement at the top saying that the store
// could not be read and when this page last read it.
func TestHealthPageShowsWhatItCanWhileTheStoreFails(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(fixtureNow)
	s := failingOutage(clk)
	e := outageEngine(t, s, clk)
	for _, id := range []string{"a", "b"} {
		if err := e.Track(ctx, event.Event{ID: id, UserID: "ann", Kind: event.EmailOpened, CampaignID: "no-such-campaign"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.FlushTallies(ctx); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	h, err := New(e, WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if page := body(t, get(t, h, "/health"), http.StatusOK); strings.Contains(page, `data-note="store"`) {
		t.Fatalf("the store answers, yet the page says it could not be read:\n%s", page)
	}
	lastRead := clk.Now()
	clk.Add(3 * time.Minute)
	s.out.Store(true)

	page := body(t, get(t, h, "/health"), http.StatusOK)
	checkOutagePage(t, page)
	if got := number(t, page, `data-stat="Events.Tracked"`); got != 2 {
		t.Errorf("the page shows %d events taken, want this engine's 2", got)
	}
	if !strings.Contains(page, `data-unknown="no-such-campaign"`) {
		t.Error("the unknown campaign IDs, which need no store, are not shown")
	}
	top := section(t, page, `data-note="store"`, "</p>")
	if !strings.Contains(top, `datetime="`+lastRead.UTC().Format(time.RFC3339)+`"`) || !strings.Contains(top, "3 minutes before this page") {
		t.Errorf("the statement does not say when the page last read the store (%v, 3 minutes before): %s", lastRead, top)
	}
	refs := refPattern.FindAllStringSubmatch(page, -1)
	for _, m := range refs {
		if line := logged.String(); !strings.Contains(line, "ref="+m[1]) {
			t.Errorf("the log lacks the error under reference %s", m[1])
		}
	}
	if len(refs) < len(storeParts) || !strings.Contains(logged.String(), "cc_app") {
		t.Errorf("%d references for %d failed parts; the log: %s", len(refs), len(storeParts), logged.String())
	}

	// A dashboard that never read the store says so, not a time.
	h2, err := New(e, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	page = body(t, get(t, h2, "/health"), http.StatusOK)
	checkOutagePage(t, page)
	if top := section(t, page, `data-note="store"`, "</p>"); strings.Contains(top, "data-last-read") || !strings.Contains(top, "has not read") {
		t.Errorf("a dashboard that never read the store gives a time it read it: %s", top)
	}

	// The store back, the page is whole again.
	s.out.Store(false)
	if page := body(t, get(t, h, "/health"), http.StatusOK); strings.Contains(page, `data-note="`) {
		t.Errorf("the store is back, yet the page has notices:\n%s", page)
	}
}

// While the store hangs, each of the health page's reads ends with the
// request's context: the page is answered once the context ends (at a
// host's deadline), with a notice in each part that needs the store.
func TestHealthPageOnAHungStoreEndsWithTheRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hungDashboard(t)
		ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
		defer cancel()
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/health", nil))
		if waited := time.Since(start); waited != 15*time.Second {
			t.Errorf("answered after %v, want the request's 15 s", waited)
		}
		checkOutagePage(t, body(t, rec, http.StatusOK))
	})
}

// partialSource is a source whose warnings alone cannot be read.
type partialSource struct{ *fakeSource }

func (partialSource) Check(context.Context) ([]connector.Warning, error) {
	return nil, errors.New(`dial tcp 10.0.0.7:5432: connection reset ` + hostile)
}

// A read that fails among others that work leaves its part's notice, and
// the statement at the top names that part alone.
func TestHealthPageNamesThePartsItCouldNotRead(t *testing.T) {
	f := populatedFake()
	f.warnings = nil
	page := body(t, get(t, mustHandler(t, partialSource{f}), "/health"), http.StatusOK)
	top := section(t, page, `data-note="store"`, "</p>")
	if !strings.Contains(top, "could not be read for the warnings:") {
		t.Errorf("the statement does not name the warnings alone: %s", top)
	}
	if !refPattern.MatchString(section(t, page, `data-note="warnings"`, "</p>")) {
		t.Error("the warnings' notice gives no reference")
	}
	if got := number(t, page, `data-stat="Users"`); got != f.stats.Users {
		t.Errorf("the page shows %d users, want the store's %d", got, f.stats.Users)
	}
	if !strings.Contains(page, `data-trouble="resend"`) {
		t.Error("the failed sends, which were read, are not shown")
	}
	for _, leak := range []string{"10.0.0.7", "alert(", "<img"} {
		if strings.Contains(page, leak) {
			t.Errorf("the page shows the error's text %q", leak)
		}
	}
}
