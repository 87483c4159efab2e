package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// hostile breaks out of text, of both kinds of quoted attribute, of a
// URL, of a pre and of an SVG text, if anything writes it unescaped.
const hostile = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>` +
	`" onmouseover="alert(3)' onfocus='alert(4)</pre></text></svg>javascript:alert(5)&amp;`

// hostileFake is a fake whose every user-controlled value is hostile:
// campaign IDs (one very long), user IDs, event IDs, properties in
// conditions, messages, reasons, rules and details (failures' too).
func hostileFake() (*fakeSource, []string) {
	f := newFake(fixtureNow)
	long := strings.Repeat(hostile, 400) // about 40 kB
	orig, fu := "orig"+hostile, hostile
	f.add(rule.Campaign{ID: orig}, rule.Active)
	f.add(rule.Campaign{ID: long}, rule.Draft)
	f.add(rule.Campaign{
		ID: fu,
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: orig, Target: hostile,
			Where: []rule.Condition{{Property: hostile, Op: rule.OpEqual, Value: hostile}}}},
		Delay:       rule.After(time.Hour),
		Exceptions:  []rule.Exception{{Kind: event.CustomEvent, Name: hostile}},
		Audience:    hostile,
		Conversions: []rule.Conversion{{ID: hostile, Kind: event.CustomEvent, Name: hostile}},
		Message:     json.RawMessage(`{"subject":` + mustJSON(hostile) + `}`),
	}, rule.Active)
	f.warnings = []connector.Warning{{CampaignID: fu, Reason: rule.Reason(hostile), Detail: hostile}}
	f.failures = []rule.Decision{{Kind: rule.Failed, Reason: rule.Reason(hostile), CampaignID: fu, UserID: hostile,
		DeliveryID: hostile, Attempt: 2, Detail: hostile, At: fixtureNow}}
	f.clockSkew = func(context.Context) (time.Duration, error) { return 0, errors.New(hostile) }
	hour := fixtureNow.Truncate(time.Hour)
	for _, k := range []rule.DecisionKind{rule.Scheduled, rule.Cancelled, rule.Suppressed, rule.Failed, rule.Retried, rule.DecisionKind(hostile)} {
		f.tallies = append(f.tallies, tally{Hour: hour, CampaignID: fu, Kind: k, Reason: rule.Reason(hostile), Rule: hostile, Count: 3})
	}
	p := store.Pending{ID: hostile, CampaignID: fu, DueAt: fixtureNow, ReadyAt: fixtureNow,
		Trigger: event.Event{ID: hostile, UserID: hostile, Kind: event.EmailReceived, CampaignID: orig,
			Properties: map[string]any{hostile: hostile, "long": long}}}
	f.pending = []store.Claim{{UserID: hostile, Pending: p}, {UserID: long, Pending: store.Pending{ID: long, CampaignID: fu, DueAt: fixtureNow}}}
	f.explain[[2]string{hostile, fu}] = connector.Explanation{
		UserID: hostile, CampaignID: fu, Pending: []store.Pending{p},
		Decisions: []rule.Decision{{Kind: rule.Cancelled, Reason: rule.ReasonException, CampaignID: fu, UserID: hostile,
			EventID: hostile, EventKind: event.Kind(hostile), Rule: hostile, Detail: hostile, DeliveryID: hostile, At: fixtureNow}},
	}
	q := func(s string) string { return url.QueryEscape(s) }
	return f, []string{"/", "/campaign?id=" + q(fu), "/campaign?id=" + q(orig), "/campaign?id=" + q(long),
		"/campaign?id=" + q(hostile+"missing"), "/user?id=" + q(hostile), "/health",
		"/campaign?id=" + q(fu) + "&range=" + q(hostile),
		"/campaign?id=" + q(fu) + "&after_due=" + q(hostile) + "&after_id=" + q(hostile)}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestHostileValuesAreEscapedEverywhere(t *testing.T) {
	f, targets := hostileFake()
	h := mustHandler(t, f, WithActions())
	for _, target := range targets {
		rec := get(t, h, target)
		if rec.Code >= 500 {
			t.Fatalf("GET %.80s: %d %.300s", target, rec.Code, rec.Body.String())
		}
		page := rec.Body.String()
		for _, bad := range []string{"<img", "onmouseover=\"", "onfocus='", "<script>", "</pre></text>", `href="javascript:`} {
			if strings.Contains(page, bad) {
				i := strings.Index(page, bad)
				t.Errorf("GET %.80s writes %q unescaped: …%s…", target, bad, page[max(0, i-80):min(len(page), i+80)])
			}
		}
		if n := strings.Count(page, "<script"); n != 1 {
			t.Errorf("GET %.80s has %d script elements, want only the dashboard's own", target, n)
		}
	}
	// The hostile values are shown, escaped, not dropped.
	page := body(t, get(t, h, "/user?id="+url.QueryEscape(hostile)), http.StatusOK)
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the user page does not show the hostile user ID as text")
	}
	if !strings.Contains(page, `class="props"`) {
		t.Error("the user page does not show the trigger's properties")
	}
}

func TestHostileValuesInChartsAreEscaped(t *testing.T) {
	s := series{Start: fixtureNow, Bucket: time.Hour, Counts: []int64{1, 0, 2}}
	out := string(sparkline(s, hostile, hostile, time.UTC))
	out += string(stackedChart([]kindSeries{{rule.DecisionKind(hostile), s}}, lastDay, time.UTC))
	out += string(funnelChart([]funnelStep{{Key: "x", Label: hostile, Count: 1}, {Key: hostile, Label: hostile}}))
	for _, bad := range []string{"<img", "<script", "</text></svg>javascript", `onmouseover="`} {
		if strings.Contains(out, bad) {
			t.Errorf("a chart writes %q unescaped", bad)
		}
	}
	if strings.Contains(out, `class="k-<`) || strings.Contains(out, `class="step-<`) {
		t.Error("a kind is written into a class unfiltered")
	}
}

// The campaigns page's original parameter is shown back in the page: one
// that is not text the engine could hold (invalid UTF-8, a NUL) names no
// campaign and is refused with a 400, as the user page's ID is, rather
// than written into the page byte for byte.
func TestTheCampaignsPageRefusesAnOriginalThatIsNotText(t *testing.T) {
	h := mustHandler(t, populatedFake())
	for _, of := range []string{"news\xffletter", "news\x00letter"} {
		rec := get(t, h, "/?"+url.Values{"original": {of}}.Encode())
		page := body(t, rec, http.StatusBadRequest)
		if !utf8.ValidString(page) {
			t.Errorf("original %q: the page is not valid UTF-8", of)
		}
	}
}
