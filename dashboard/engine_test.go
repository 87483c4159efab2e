package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// resendEngine runs the resend-to-non-openers flow on a memory store: ann
// and bob receive the newsletter, bob opens it, a week later ann gets the
// resend, and then cleo receives the newsletter.
func resendEngine(t testing.TB) (*connector.Engine, *clock.Mock) {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(fixtureNow.Add(-8 * 24 * time.Hour))
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	e, err := connector.New(store.NewMemory(), send, connector.WithClock(clk), connector.WithDecisionLog(100, 30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	must := noError(t)
	must(e.Save(ctx, rule.Campaign{ID: "newsletter"}))
	must(e.Save(ctx, rule.Campaign{
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(7 * 24 * time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
	}))
	must(e.Publish(ctx, "resend"))
	must(e.Publish(ctx, "newsletter"))
	for _, u := range []string{"ann", "bob"} {
		must(e.Track(ctx, event.Event{ID: "rcv-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "newsletter"}))
	}
	clk.Add(time.Hour)
	must(e.Track(ctx, event.Event{ID: "open-bob", UserID: "bob", Kind: event.EmailOpened, CampaignID: "newsletter"}))
	clk.Add(7 * 24 * time.Hour)
	if _, err := e.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	must(e.Track(ctx, event.Event{ID: "rcv-cleo", UserID: "cleo", Kind: event.EmailReceived, CampaignID: "newsletter"}))
	return e, clk
}

// bareStore hides every optional interface of the memory store: an engine
// on it keeps no tallies and cannot list pending deliveries.
type bareStore struct{ store.Store }

func TestAStoreWithoutTalliesGetsNotices(t *testing.T) {
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	e, err := connector.New(bareStore{store.NewMemory()}, send)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Save(context.Background(), rule.Campaign{ID: "n"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Save(context.Background(), rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "n"}}}); err != nil {
		t.Fatal(err)
	}
	h, err := New(e, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/campaign?id=f", "/health"} {
		page := body(t, get(t, h, p), http.StatusOK)
		if !strings.Contains(page, `data-note="tallies"`) || strings.Contains(page, "data-metric=") || strings.Contains(page, "data-kind=") {
			t.Errorf("%s: no notice in place of the figures", p)
		}
	}
	for _, p := range []string{"/", "/campaign?id=f"} {
		if page := body(t, get(t, h, p), http.StatusOK); !strings.Contains(page, `data-note="pending"`) {
			t.Errorf("%s: no notice in place of the pending deliveries", p)
		}
	}
}

func TestTheEnginesOwnDataIsShown(t *testing.T) {
	e, _ := resendEngine(t)
	h, err := New(e, WithActions(), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, get(t, h, "/"), http.StatusOK)
	if !strings.Contains(section(t, page, `data-campaign="resend"`, "</header>"), "state-active") {
		t.Error("resend is not shown active")
	}
	// The resend was scheduled over a week ago: the 30-day range counts it.
	// ann was sent the resend, bob's was cancelled by his open, cleo's waits.
	page = body(t, get(t, h, "/campaign?id=resend&range=30d"), http.StatusOK)
	for kind, want := range map[string]int64{"scheduled": 3, "delivered": 1, "cancelled": 1} {
		if got := number(t, page, `data-kind="`+kind+`"`); got != want {
			t.Errorf("%s: the page shows %d, want %d", kind, got, want)
		}
	}
	if pending := section(t, page, `id="pending"`, "</section>"); strings.Count(pending, "data-delivery") != 1 || !strings.Contains(pending, `href="user?id=cleo"`) {
		t.Error("cleo's pending resend is not the one listed")
	}
	if got := number(t, body(t, get(t, h, "/"), http.StatusOK), "data-pending"); got != 1 {
		t.Errorf("the campaigns page counts %d pending resends, want 1", got)
	}
	page = body(t, get(t, h, "/user?id=bob"), http.StatusOK)
	tl := section(t, page, `id="timeline"`, "</section>")
	for _, want := range []string{`data-decision="scheduled"`, `data-decision="cancelled"`, "open-bob", esc(`the user opens the email "newsletter"`)} {
		if !strings.Contains(tl, want) {
			t.Errorf("bob's timeline lacks %q", want)
		}
	}
	if got := number(t, body(t, get(t, h, "/user?id=ann"), http.StatusOK), "data-sent"); got != 1 {
		t.Errorf("ann was sent the resend %d times, want 1", got)
	}
	stats, err := e.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	page = body(t, get(t, h, "/health"), http.StatusOK)
	for key, want := range map[string]int64{"Campaigns": stats.Campaigns, "Users": stats.Users, "Pending": stats.Pending} {
		if got := number(t, page, `data-stat="`+key+`"`); got != want {
			t.Errorf("%s: page shows %d, Stats says %d", key, got, want)
		}
	}

	// An action goes through to the engine.
	ck, token := startSession(t, h)
	rec := post(h, url.Values{"op": {"stop"}, "id": {"resend"}, "csrf": {token}}, ck, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("stop: %d %s", rec.Code, rec.Body.String())
	}
	if rec, _ := e.Campaign(context.Background(), "resend"); rec.State != rule.Stopped {
		t.Errorf("after the stop the engine has resend %s", rec.State)
	}
}

// The health page counts the events this engine took, apart from what the
// store holds, each ignored one under its reason: an event naming a
// campaign no one defined shows under "unknown campaign".
func TestHealthShowsIgnoredEventsByReason(t *testing.T) {
	e, _ := resendEngine(t)
	if err := e.Track(context.Background(), event.Event{ID: "typo", UserID: "dan", Kind: event.EmailReceived, CampaignID: "newsleter"}); err != nil {
		t.Fatal(err)
	}
	h, err := New(e, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, get(t, h, "/health"), http.StatusOK)
	if got := number(t, page, `data-stat-part="Events.Ignored.unknown_campaign"`); got != 1 {
		t.Errorf("ignored as unknown campaign: %d, want 1", got)
	}
	if !strings.Contains(page, "names a campaign that does not exist</th>") {
		t.Error("the ignored events' reason is not in words")
	}
	if !strings.Contains(page, "one that names a campaign that does not exist is most often a typo") {
		t.Error("the note on ignored events does not name the reason as the table does")
	}
	if got := number(t, page, `data-stat="Events.Tracked"`); got != 5 {
		t.Errorf("tracked: %d, want 5", got)
	}
	if !strings.Contains(page, "Events this engine took, since it started") {
		t.Error("the page does not say whose events it counts")
	}
	if got := number(t, page, `data-unknown-events="newsleter"`); got != 1 {
		t.Errorf("events naming newsleter: %d, want 1", got)
	}
}

// A delivery suppressed when it came due (here by a frequency cap) was
// scheduled first: the funnel counts it as scheduled and shows it falling
// out after Scheduled, and only a trigger suppressed on arrival falls out
// before.
func TestFunnelPutsSuppressionsWhenDueAfterScheduled(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(fixtureNow.Add(-3 * time.Hour))
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	e, err := connector.New(store.NewMemory(), send, connector.WithClock(clk),
		connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Window: 24 * time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	must := noError(t)
	must(e.Save(ctx, rule.Campaign{ID: "newsletter"}))
	for id, d := range map[string]time.Duration{"resend": time.Hour, "nudge": 2 * time.Hour} {
		must(e.Save(ctx, rule.Campaign{ID: id, Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}, Delay: rule.After(d)}))
		must(e.Publish(ctx, id))
	}
	must(e.Publish(ctx, "newsletter"))
	clk.Add(time.Second)
	for _, id := range []string{"ann-1", "bob-1", "bob-2"} { // bob's second is suppressed on arrival: already pending
		must(e.Track(ctx, event.Event{ID: id, UserID: id[:3], Kind: event.EmailReceived, CampaignID: "newsletter"}))
	}
	for range 2 { // the resends go out; the nudges an hour later meet the cap
		clk.Add(time.Hour)
		if _, err := e.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	h, err := New(e, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, get(t, h, "/campaign?id=nudge"), http.StatusOK)
	for step, want := range map[string]int64{"triggered": 3, "scheduled": 2, "sent": 0} {
		if got := number(t, page, `data-step="`+step+`"`); got != want {
			t.Errorf("%s: the funnel shows %d, want %d", step, got, want)
		}
	}
	funnel := section(t, page, `id="funnel"`, "</section>")
	rows := strings.Split(funnel, "<tr>")
	var scheduled, triggered string
	for _, r := range rows {
		switch {
		case strings.Contains(r, `data-step="triggered"`):
			triggered = r
		case strings.Contains(r, `data-step="scheduled"`):
			scheduled = r
		}
	}
	if !strings.Contains(scheduled, "suppressed: user reached a frequency cap when due") {
		t.Errorf("the cap's suppressions do not fall out after Scheduled: %s", scheduled)
	}
	if !strings.Contains(triggered, "suppressed: user already waiting for this follow-up") || strings.Contains(triggered, "frequency cap") {
		t.Errorf("before Scheduled, want the trigger suppressed on arrival only: %s", triggered)
	}
}
