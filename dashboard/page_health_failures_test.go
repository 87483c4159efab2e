package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// The health page lists the engine's latest failed sends in the order it
// gives them, each with its time, follow-up, user (a link to the user's
// page), attempt, outcome and error, local times in the error shown as
// the page shows times.
func TestHealthPageListsRecentFailures(t *testing.T) {
	f := newFake(fixtureNow)
	next := fixtureNow.Add(2 * time.Minute)
	f.failures = []rule.Decision{
		{Kind: rule.Failed, Reason: rule.ReasonSendError, CampaignID: "resend", UserID: "ann", DeliveryID: "d1", Attempt: 3,
			Detail: "mailbox full", At: fixtureNow},
		{Kind: rule.Retried, Reason: rule.ReasonSendError, CampaignID: "resend", UserID: "bob & co", DeliveryID: "d2", Attempt: 1,
			Detail: "timeout; next attempt at " + next.UTC().Format(time.RFC3339Nano), At: fixtureNow.Add(-time.Minute)},
	}
	page := body(t, get(t, mustHandler(t, f), "/health"), http.StatusOK)
	list := section(t, page, `id="failures"`, "</section>")
	if got := strings.Count(list, "<tr data-failure="); got != 2 {
		t.Fatalf("%d failures listed, want 2:\n%s", got, list)
	}
	for _, want := range []string{
		`<tr data-failure="failed">`, `href="user?id=ann"`, `href="campaign?id=resend"`, "mailbox full", "Failed: not tried again",
		`<tr data-failure="retried">`, `href="user?id=bob%20%26%20co"`, "bob &amp; co", "timeout; next attempt at " + formatTime(next, time.UTC),
		fmt.Sprintf(`datetime="%s"`, fixtureNow.UTC().Format(time.RFC3339)),
	} {
		if !strings.Contains(list, want) {
			t.Errorf("the list lacks %q:\n%s", want, list)
		}
	}
	if strings.Index(list, "mailbox full") > strings.Index(list, "timeout") {
		t.Error("the failures are not in the engine's order, the latest first")
	}
	if strings.Contains(list, "data-empty") {
		t.Error("the list says it is empty")
	}
}

func TestHealthPageSaysWhenNoSendFailed(t *testing.T) {
	page := body(t, get(t, mustHandler(t, newFake(fixtureNow)), "/health"), http.StatusOK)
	list := section(t, page, `id="failures"`, "</section>")
	if !strings.Contains(list, "data-empty") || strings.Contains(list, "<tr data-failure=") {
		t.Errorf("no empty list:\n%s", list)
	}
}

// A hostile user ID, campaign ID and error text are shown as text, in
// the links as query values.
func TestHealthPageEscapesFailures(t *testing.T) {
	f := newFake(fixtureNow)
	f.failures = []rule.Decision{{Kind: rule.DecisionKind(hostile), Reason: rule.Reason(hostile), CampaignID: hostile, UserID: hostile,
		DeliveryID: hostile, Attempt: 1, Detail: hostile, At: fixtureNow}}
	page := body(t, get(t, mustHandler(t, f), "/health"), http.StatusOK)
	list := section(t, page, `id="failures"`, "</section>")
	for _, bad := range []string{"<img", "<script", `onmouseover="`, "onfocus='", "</pre></text>", `href="javascript:`} {
		if strings.Contains(list, bad) {
			t.Errorf("the list writes %q unescaped:\n%s", bad, list)
		}
	}
	if got := strings.Count(list, "&lt;script&gt;alert(1)&lt;/script&gt;"); got < 3 {
		t.Errorf("the hostile values are shown %d times as text, want the user, campaign and error:\n%s", got, list)
	}
	if !strings.Contains(list, `href="user?id=%3cscript%3ealert%281%29%3c%2fscript%3e%22%27%3e%3cimg%20src%3dx`) {
		t.Errorf("the user link does not carry the ID as a query value:\n%s", list)
	}
}

// However many failures a source returns, the page lists healthRows and
// says how many more there are.
func TestHealthPageBoundsFailures(t *testing.T) {
	f := newFake(fixtureNow)
	for i := range healthRows + 20 {
		f.failures = append(f.failures, rule.Decision{Kind: rule.Retried, Reason: rule.ReasonSendError, CampaignID: "resend",
			UserID: fmt.Sprint("u-", i), Attempt: 1, Detail: strings.Repeat("x", 1024), At: fixtureNow})
	}
	page := body(t, get(t, mustHandler(t, f), "/health"), http.StatusOK)
	list := section(t, page, `id="failures"`, "</section>")
	if got := strings.Count(list, "<tr data-failure="); got != healthRows {
		t.Errorf("%d failures listed, want %d", got, healthRows)
	}
	if !strings.Contains(list, "<span data-failures-more>20</span> more") {
		t.Error("the page does not say how many more there are")
	}
}

// An engine's own failed sends reach its health page: a sender that
// refuses ann's resend.
func TestHealthPageListsTheEnginesFailures(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(fixtureNow)
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		return connector.Permanent(errors.New("<b>no such mailbox</b> for " + d.UserID))
	})
	e, err := connector.New(store.NewMemory(), send, connector.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	must := noError(t)
	must(e.Save(ctx, rule.Campaign{ID: "newsletter"}))
	must(e.Save(ctx, rule.Campaign{ID: "resend", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}))
	must(e.Publish(ctx, "resend"))
	must(e.Publish(ctx, "newsletter"))
	must(e.Track(ctx, event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}))
	if _, err := e.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := New(e, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	list := section(t, body(t, get(t, h, "/health"), http.StatusOK), `id="failures"`, "</section>")
	for _, want := range []string{`<tr data-failure="failed">`, `href="user?id=ann"`, "&lt;b&gt;no such mailbox&lt;/b&gt; for ann (permanent: not retried)"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list lacks %q:\n%s", want, list)
		}
	}
}

// A delivery the directory held back was not sent: its row says so
// rather than an attempt (the sends before it, 0 for a first one), as
// the user's page and Explain do.
func TestHealthPageFailuresHeldBackByTheDirectory(t *testing.T) {
	f := newFake(fixtureNow)
	f.failures = []rule.Decision{
		{Kind: rule.Retried, Reason: rule.ReasonDirectoryError, CampaignID: "resend", UserID: "ann", DeliveryID: "d1",
			Detail: "directory timeout (1 in a row)", At: fixtureNow},
		{Kind: rule.Failed, Reason: rule.ReasonDirectoryError, CampaignID: "resend", UserID: "bob", DeliveryID: "d2", Attempt: 2,
			Detail: "directory timeout", At: fixtureNow},
	}
	list := section(t, body(t, get(t, mustHandler(t, f), "/health"), http.StatusOK), `id="failures"`, "</section>")
	for _, bad := range []string{`<td class="n">0</td>`, `<td class="n">2</td>`} {
		if strings.Contains(list, bad) {
			t.Errorf("a delivery the directory held back shows an attempt (%s):\n%s", bad, list)
		}
	}
	for _, want := range []string{`<td class="n"><span class="muted">not sent</span></td>`, "Held back: tried again later"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list lacks %q:\n%s", want, list)
		}
	}
}
