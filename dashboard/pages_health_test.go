package dashboard

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
)

func TestHealthPageShowsStatsFailuresAndWarnings(t *testing.T) {
	f := populatedFake()
	page := body(t, get(t, mustHandler(t, f), "/health"), http.StatusOK)
	for key, want := range map[string]int64{"Campaigns": f.stats.Campaigns, "Users": f.stats.Users, "Pending": f.stats.Pending, "Interactions": f.stats.Interactions} {
		if got := number(t, page, `data-stat="`+key+`"`); got != want {
			t.Errorf("%s: page shows %d, Stats says %d", key, got, want)
		}
	}
	for _, w := range []struct {
		query string
		hours int
	}{{"", 24}, {"?range=7d", 7 * 24}} {
		page := body(t, get(t, mustHandler(t, f), "/health"+w.query), http.StatusOK)
		trouble := section(t, page, `data-trouble="resend"`, "</tr>")
		for key, k := range map[string]rule.DecisionKind{"failed": rule.Failed, "retried": rule.Retried} {
			if got, want := number(t, trouble, `data-metric="`+key+`"`), fixtureSum(f, "resend", w.hours, k); got != want {
				t.Errorf("%s over %d hours: page shows %d, the tallies hold %d", key, w.hours, got, want)
			}
		}
	}
	if !strings.Contains(page, `data-warning="unknown_campaign"`) {
		t.Error("the warning is not listed")
	}
	// A store's interaction count is 0 unless the engine keeps the log:
	// the page says which option that is, lest 0 look like a fault.
	if stats := section(t, page, `id="stats"`, "</section>"); !strings.Contains(stats, "connector.WithInteractionLog") {
		t.Error("the store's figures do not say that the interaction log needs WithInteractionLog")
	}
}

// The unknown campaign IDs are whatever the host received: the page lists
// them escaped, the latest first, and says nothing when there are none.
func TestHealthPageListsUnknownCampaignIDs(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, f)
	if page := body(t, get(t, h, "/health"), http.StatusOK); strings.Contains(page, "unknown-campaigns") {
		t.Error("an empty list is shown")
	}
	hostile := `"><script>alert(1)</script>`
	f.unknown = []connector.UnknownCampaign{
		{ID: hostile, Events: 3, Last: f.now},
		{ID: "newsleter", Events: 1200, Last: f.now.Add(-time.Hour)},
	}
	page := body(t, get(t, h, "/health"), http.StatusOK)
	if strings.Contains(page, "<script>alert") {
		t.Fatal("an unknown campaign ID is not escaped")
	}
	list := section(t, page, `id="unknown-campaigns"`, "</table>")
	first, second := strings.Index(list, "&lt;script&gt;"), strings.Index(list, "newsleter")
	if first < 0 || second < 0 || first > second {
		t.Errorf("the IDs are not listed in the source's order:\n%s", list)
	}
	if !strings.Contains(list, `<code class="id">&#34;newsleter&#34;</code>`) {
		t.Errorf("newsleter is not shown quoted:\n%s", list)
	}
	if strings.Contains(list, "ASCII:") {
		t.Error("an ASCII ID is shown twice")
	}
	f.unknown = []connector.UnknownCampaign{{ID: "n\u0435wsletter", Events: 1, Last: f.now}} // a Cyrillic e
	if list := section(t, body(t, get(t, h, "/health"), http.StatusOK), `id="unknown-campaigns"`, "</table>"); !strings.Contains(list, `ASCII: <code class="id">&#34;n\u0435wsletter&#34;</code>`) {
		t.Errorf("the look-alike is not shown in ASCII:\n%s", list)
	}
	f.unknown = f.unknown[:0]
	if got := number(t, list, `data-unknown-events="newsleter"`); got != 1200 {
		t.Errorf("events naming newsleter: %d, want 1200", got)
	}
	if strings.Contains(list, "Did you mean") {
		t.Error("a suggestion is shown for IDs that have none")
	}
}

// An unknown ID that misspells a known campaign links to it.
func TestHealthPageSuggestsTheCampaignAnUnknownIDMisspells(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, f)
	f.unknown = []connector.UnknownCampaign{
		{ID: "newsleter", Events: 2, Last: f.now, Suggestion: "newsletter"},
		{ID: "zzz", Events: 1, Last: f.now},
		{ID: "x", Events: 1, Last: f.now, Suggestion: `"><b>y`},
	}
	list := section(t, body(t, get(t, h, "/health"), http.StatusOK), `id="unknown-campaigns"`, "</table>")
	want := `<span data-suggestion="newsletter">Did you mean <a href="campaign?id=newsletter"><code class="id">&#34;newsletter&#34;</code></a>?</span>`
	if !strings.Contains(list, want) {
		t.Errorf("no link to the campaign newsleter misspells:\n%s", list)
	}
	if n := strings.Count(list, "Did you mean"); n != 2 {
		t.Errorf("%d suggestions shown, want 2 (zzz has none):\n%s", n, list)
	}
	if strings.Contains(list, "<b>y") {
		t.Errorf("a suggestion is not escaped:\n%s", list)
	}
}

// The events that named a campaign that does not exist are counted across
// every engine from the tallies, in the page's window: the list of IDs is
// the process's own and starts empty at each restart, the count does not.
func TestHealthPageCountsUnknownCampaignEventsAcrossEngines(t *testing.T) {
	for _, ignoresKinds := range []bool{false, true} {
		f := newFake(fixtureNow)
		f.allKinds = ignoresKinds
		hour := fixtureNow.Truncate(time.Hour)
		f.tallies = append(f.tallies,
			tally{Hour: hour, Kind: rule.Ignored, Reason: rule.ReasonUnknownCampaign, Count: 7},
			tally{Hour: hour.Add(-3 * time.Hour), Kind: rule.Ignored, Reason: rule.ReasonUnknownCampaign, Count: 5},
			tally{Hour: hour.Add(-3 * 24 * time.Hour), Kind: rule.Ignored, Reason: rule.ReasonUnknownCampaign, Count: 100},
			tally{Hour: hour, CampaignID: "resend", Kind: rule.Ignored, Reason: rule.ReasonAfterDue, Count: 9},
			tally{Hour: hour, CampaignID: "resend", Kind: rule.Scheduled, Count: 11})
		h := mustHandler(t, f)
		for target, want := range map[string]int64{"/health": 12, "/health?range=7d": 112} {
			page := body(t, get(t, h, target), http.StatusOK)
			if got := number(t, page, "data-unknown-total"); got != want {
				t.Errorf("%s (store ignores kinds: %v): %d events named an unknown campaign, want %d", target, ignoresKinds, got, want)
			}
		}
		if !ignoresKinds {
			if q := f.talliesAsked[len(f.talliesAsked)-1]; !slices.Contains(q.Kinds, rule.Ignored) || slices.Contains(q.Kinds, rule.Scheduled) {
				t.Errorf("the page asked for the kinds %v", q.Kinds)
			}
		}
	}
	f := newFake(fixtureNow)
	page := body(t, get(t, mustHandler(t, f), "/health"), http.StatusOK)
	if got := number(t, page, "data-unknown-total"); got != 0 || !strings.Contains(page, "events named a campaign that does not exist.") {
		t.Errorf("none: %d, or the sentence is missing", got)
	}
}

// The count across engines points to the list of IDs below only when
// this engine has one: after a restart, or when other engines saw them,
// there is none.
func TestHealthPageUnknownTotalPointsToTheListOnlyWhenShown(t *testing.T) {
	f := newFake(fixtureNow)
	f.tallies = append(f.tallies, tally{Hour: fixtureNow.Truncate(time.Hour), Kind: rule.Ignored, Reason: rule.ReasonUnknownCampaign, Count: 3})
	page := body(t, get(t, mustHandler(t, f), "/health"), http.StatusOK)
	if strings.Contains(page, `id="unknown-campaigns"`) {
		t.Fatal("the fake engine lists unknown IDs: the test needs none")
	}
	if got := number(t, page, "data-unknown-total"); got != 3 || strings.Contains(page, "the IDs below") {
		t.Errorf("%d events; the sentence points to a list the page does not show:\n%s", got, section(t, page, `id="unknown-total"`, "</p>"))
	}
}

// The health page names its figures in a campaign manager's words, not
// by their Go fields ("Pending" of what? "Unheard"?), and keeps a field's
// name in its label's title; the notes say what an engine option does
// and name the option last, for the engineer.
func TestHealthPageNamesItsFiguresInWords(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, f)
	page := body(t, get(t, h, "/health"), http.StatusOK)
	stats := oneLine(section(t, page, `id="stats"`, "</section>"))
	events := oneLine(section(t, page, `id="events"`, "</section>"))
	for _, want := range []struct{ part, text string }{
		{stats, `<th scope="row" title="Go field: Pending">Pending deliveries</th><td class="n" data-stat="Pending">`},
		{stats, `(the host turns it on with <code>connector.WithInteractionLog</code>).`},
		{events, `<th scope="row" title="Go field: Unheard">Used by no follow-up</th><td class="n" data-stat="Events.Unheard">`},
		{events, `Used by no follow-up: events that no active follow-up triggers on or watches for`},
		{oneLine(section(t, page, `id="failures"`, "</section>")), `when the engine keeps a history of its decisions about each user (the host turns it on with <code>connector.WithDecisionLog</code>).`},
	} {
		if !strings.Contains(want.part, want.text) {
			t.Errorf("the health page does not say %q in:\n%s", want.text, want.part)
		}
	}
	if strings.Contains(events, "Unheard:") || strings.Contains(events, ">Unheard<") {
		t.Errorf("the health page names a figure Unheard:\n%s", events)
	}
	if !strings.Contains(body(t, get(t, h, "/"), http.StatusOK), `<dt>Pending deliveries</dt>`) {
		t.Error("the campaigns page does not say its pending figure counts deliveries")
	}
	f.noLog = true
	note := oneLine(section(t, body(t, get(t, h, "/user?id=ann"), http.StatusOK), `data-note="log"`, "</p>"))
	if want := `keeps no history of its decisions about each user, so there is none to show (the host turns it on with <code>connector.WithDecisionLog</code>)`; !strings.Contains(note, want) {
		t.Errorf("the user page's note of no decision log says:\n%s\nnot:\n%s", note, want)
	}
}
