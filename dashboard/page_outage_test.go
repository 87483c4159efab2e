package dashboard

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// errorLines returns the Error lines of a text log.
func errorLines(logged *bytes.Buffer) []string {
	var out []string
	for line := range strings.Lines(logged.String()) {
		if strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	return out
}

// outageDashboard returns a dashboard over an engine on a failing outage
// store, with a resend of a newsletter published and a trigger of ann's
// tracked while the store still answered, and the buffer it logs into.
func outageDashboard(t *testing.T, opts ...Option) (*handler, outageStore, *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(fixtureNow)
	s := failingOutage(clk)
	e := outageEngine(t, s, clk)
	noError(t)(e.Apply(ctx, []rule.Campaign{{ID: "newsletter"}, {ID: "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}, Delay: rule.After(24 * time.Hour)}}))
	noError(t)(e.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}))
	logged := &bytes.Buffer{}
	h := mustHandler(t, engineSource{e}, append(opts, WithLogger(slog.New(slog.NewTextHandler(logged, nil))))...)
	return h, s, logged
}

// outagePages are the pages that cannot be shown without the store's
// answer: the campaigns, a campaign and a user.
var outagePages = []string{"/", "/campaign?id=resend", "/user?id=ann"}

// While the store fails, the pages that need it answer 503 (the server
// cannot serve them for now, not a fault of the dashboard), with a
// reference to the one line the request logged, a link to the health
// page, and a reload at the live refresh's pace that Retry-After repeats:
// a page opened during an outage shows itself once the store is back.
func TestPagesAnswerUnavailableWhileTheStoreFails(t *testing.T) {
	h, s, logged := outageDashboard(t)
	for _, target := range outagePages {
		body(t, get(t, h, target), http.StatusOK)
	}
	s.out.Store(true)
	for _, target := range outagePages {
		logged.Reset()
		rec := get(t, h, target)
		page := body(t, rec, http.StatusServiceUnavailable)
		if got := rec.Header().Get("Retry-After"); got != "10" {
			t.Errorf("GET %s: Retry-After %q, want the refresh's 10 seconds", target, got)
		}
		if !strings.Contains(page, `<meta http-equiv="refresh" content="10">`) {
			t.Errorf("GET %s: the page does not load itself again:\n%s", target, page)
		}
		if !strings.Contains(page, `href="health"`) || !strings.Contains(page, "every 10 seconds until the store answers") {
			t.Errorf("GET %s: the page does not point to the health page or say it reloads:\n%s", target, page)
		}
		m := refPattern.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("GET %s: no reference on the page:\n%s", target, page)
		}
		lines := errorLines(logged)
		if len(lines) != 1 || !strings.Contains(lines[0], "ref="+m[1]) || !strings.Contains(lines[0], "cc_app") {
			t.Errorf("GET %s: want one Error line with the error under reference %s; the log:\n%s", target, m[1], logged)
		}
		for _, leak := range []string{"10.0.0.7", "cc_app", "alert(", "<img"} {
			if strings.Contains(page, leak) {
				t.Errorf("GET %s: the page shows the error's text %q", target, leak)
			}
		}
	}
	s.out.Store(false)
	for _, target := range outagePages {
		if page := body(t, get(t, h, target), http.StatusOK); strings.Contains(page, "http-equiv") {
			t.Errorf("GET %s: the store is back, yet the page still reloads itself", target)
		}
	}
}

// Without live refresh the 503 page neither reloads itself nor gives a
// Retry-After: the host asked for pages that stay as they are.
func TestUnavailablePageWithoutRefreshStaysPut(t *testing.T) {
	h, s, _ := outageDashboard(t, WithRefresh(0))
	s.out.Store(true)
	rec := get(t, h, "/")
	page := body(t, rec, http.StatusServiceUnavailable)
	if rec.Header().Get("Retry-After") != "" || strings.Contains(page, "http-equiv") || strings.Contains(page, "loads itself") {
		t.Errorf("live refresh is off, yet the page reloads (Retry-After %q):\n%s", rec.Header().Get("Retry-After"), page)
	}
	if !strings.Contains(page, `href="health"`) {
		t.Errorf("the page does not point to the health page:\n%s", page)
	}
}

// While the store fails, the health page fails a read in each of its
// parts, and logs them as one Error line under the one reference all its
// notices show: a page left open logs a line per reload, not one per part.
func TestHealthPageLogsOneLinePerLoadWhileTheStoreFails(t *testing.T) {
	h, s, logged := outageDashboard(t)
	s.out.Store(true)
	page := body(t, get(t, h, "/health"), http.StatusOK)
	checkOutagePage(t, page)
	refs := map[string]bool{}
	for _, m := range refPattern.FindAllStringSubmatch(page, -1) {
		refs[m[1]] = true
	}
	lines := errorLines(logged)
	if len(lines) != 1 || len(refs) != 1 {
		t.Fatalf("%d Error lines and %d references for one load, want 1 of each; the log:\n%s", len(lines), len(refs), logged)
	}
	for ref := range refs {
		if !strings.Contains(lines[0], "ref="+ref) {
			t.Errorf("the line does not carry the page's reference %s: %s", ref, lines[0])
		}
	}
	// The line names each failed read: the reads that failed with the
	// same text once, with how many (the store's figures and its clock
	// fail with the store's own error), the others in their words.
	for _, want := range []string{" (2 reads); ", "check: ", "tallies: "} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("the line lacks %q: %s", want, lines[0])
		}
	}
}

func TestErrorsTextGroupsRepeatedErrors(t *testing.T) {
	a, b := errString("a"), errString("b")
	for _, c := range []struct {
		errs []error
		want string
	}{
		{[]error{a}, "a"},
		{[]error{a, b}, "a; b"},
		{[]error{a, b, a, a}, "a (3 reads); b"},
	} {
		if got := errorsText(c.errs); got != c.want {
			t.Errorf("errorsText(%v) = %q, want %q", c.errs, got, c.want)
		}
	}
}

// errString is an error of a fixed text.
type errString string

func (e errString) Error() string { return string(e) }

func TestAgoWordsSaysLessThanASecond(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "less than a second", 3990994 * time.Nanosecond: "less than a second",
		time.Second + 400*time.Millisecond: "1 second", 3 * time.Minute: "3 minutes",
		3*time.Minute + 999*time.Millisecond: "3 minutes",
	} {
		if got := agoWords(d); got != want {
			t.Errorf("agoWords(%v) = %q, want %q", d, got, want)
		}
	}
}
