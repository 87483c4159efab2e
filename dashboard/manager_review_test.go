package dashboard

import (
	"net/http"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
)

// The decisions table names each kind as the funnel and the campaigns page
// do ("Sent", "Held out"), not by its code ("delivered", "held_out"), so
// that a reader can match the two tables of one page.
func TestManagerReviewDecisionKindsInWords(t *testing.T) {
	f := populatedFake()
	f.tallies = append(f.tallies, tally{Hour: fixtureNow.Truncate(3600e9), CampaignID: "resend", Kind: rule.HeldOut, Reason: rule.ReasonControlGroup, Count: 1})
	page := body(t, get(t, mustHandler(t, f), "/campaign?id=resend"), http.StatusOK)
	decisions := section(t, page, `id="decisions"`, "</section>")
	for _, want := range []string{"</svg> Sent</th>", "</svg> Held out</th>", "</svg> Retried (a send failed, tried again)</th>", "<title>Sent: "} {
		if !strings.Contains(decisions, want) {
			t.Errorf("the decisions chart and table lack %q", want)
		}
	}
	for _, code := range []string{"</svg> delivered</th>", "</svg> held_out</th>", "<title>delivered: "} {
		if strings.Contains(decisions, code) {
			t.Errorf("the decisions chart and table show the code %q", code)
		}
	}
}

// A suppression because the user already received a follow-up that is
// not re-eligible says so, not "not reeligible".
func TestManagerReviewNotReeligibleInWords(t *testing.T) {
	if got := reasonWords(rule.ReasonNotReeligible); got != "already received it, not eligible again (or not yet)" {
		t.Errorf("not_reeligible in words: %q", got)
	}
	if got := reasonWords(rule.ReasonAfterDue); strings.Contains(got, "_") || got == "after due" {
		t.Errorf("after_due in words: %q", got)
	}
}

// A directory error names what the directory answers (a time zone, a
// segment), not an address, which the engine never asks it for; a rate
// limit is the follow-up's own, not the sending service's.
func TestManagerReviewDirectoryAndRateLimitInWords(t *testing.T) {
	if got := reasonWords(rule.ReasonDirectoryError); got != "the user directory (time zone, segments) failed" {
		t.Errorf("directory_error in words: %q", got)
	}
	if got := reasonWords(rule.ReasonRateLimited); got != "the follow-up's rate limit (per minute) reached" {
		t.Errorf("rate_limited in words: %q", got)
	}
}

// The Stop button says what it does to the deliveries waiting, and the
// confirmation of a publish that resumes a stopped campaign says that the
// deliveries the stop cancelled are not sent.
func TestManagerReviewStopAndResumeSayWhatHappensToTheDeliveries(t *testing.T) {
	f := populatedFake()
	page := body(t, get(t, mustHandler(t, f, WithActions()), "/campaign?id=resend"), http.StatusOK)
	if !strings.Contains(page, "cancels every pending delivery") {
		t.Error("the Stop button does not say it cancels the pending deliveries")
	}
	rec := f.campaigns["resend"]
	rec.Activation = 2 // resumed once
	f.campaigns["resend"] = rec
	page = body(t, get(t, mustHandler(t, f, WithActions()), "/campaign?id=resend&done=publish"), http.StatusOK)
	if !strings.Contains(page, "The deliveries the stop cancelled are not sent") {
		t.Errorf("a resume's confirmation does not say what became of the cancelled deliveries:\n%s", section(t, page, "<h1", "</dl>"))
	}
	rec.Activation = 1 // a first publish: no stop to speak of
	f.campaigns["resend"] = rec
	page = body(t, get(t, mustHandler(t, f, WithActions()), "/campaign?id=resend&done=publish"), http.StatusOK)
	if strings.Contains(page, "the stop cancelled") || !strings.Contains(page, "Published: the campaign is active.") {
		t.Error("a first publish is confirmed as a resume")
	}
}

// The user's timeline names each decision as the campaign pages do
// ("Sent", "Held out"), not by its code ("delivered", "held_out").
func TestManagerReviewTimelineKindsInWords(t *testing.T) {
	f := populatedFake()
	x := f.explain[[2]string{"ann", "resend"}]
	x.Decisions = append(x.Decisions, rule.Decision{Kind: rule.HeldOut, Reason: rule.ReasonControlGroup, CampaignID: "resend", UserID: "ann", At: fixtureNow})
	f.explain[[2]string{"ann", "resend"}] = x
	tl := section(t, body(t, get(t, mustHandler(t, f), "/user?id=ann"), http.StatusOK), `id="timeline"`, "</section>")
	for _, want := range []string{`<td class="kind">Scheduled</td>`, `<td class="kind">Sent</td>`, `<td class="kind">Held out</td>`} {
		if !strings.Contains(tl, want) {
			t.Errorf("the timeline lacks %s", want)
		}
	}
	if strings.Contains(tl, `<td class="kind">delivered</td>`) || strings.Contains(tl, `<td class="kind">held_out</td>`) {
		t.Error("the timeline shows decision codes")
	}
}

// A cancellation by an exception reads on the user's timeline as in the
// cancellations' breakdown of the campaign pages: what happened while the
// user waited, marked as the exception.
func TestManagerReviewTimelineSaysAnExceptionAsTheBreakdown(t *testing.T) {
	f := populatedFake()
	x := f.explain[[2]string{"ann", "resend"}]
	x.Decisions = append(x.Decisions, rule.Decision{Kind: rule.Cancelled, Reason: rule.ReasonException, Rule: resendException,
		CampaignID: "resend", UserID: "ann", EventID: "open-1", At: fixtureNow})
	f.explain[[2]string{"ann", "resend"}] = x
	tl := section(t, body(t, get(t, mustHandler(t, f), "/user?id=ann"), http.StatusOK), `id="timeline"`, "</section>")
	resend := f.campaigns["resend"].Campaign
	label := why(tally{Kind: rule.Cancelled, Reason: rule.ReasonException, Rule: resendException}, actionsOf(&resend))
	if want := `cancelled: while waiting, the user opens the email "newsletter" (exception)`; label != want[len("cancelled: "):] || !strings.Contains(tl, esc(want)) {
		t.Errorf("the timeline does not say %q:\n%s", want, tl)
	}
	if strings.Contains(tl, "by the exception") {
		t.Error("the timeline says the exception in other words than the breakdown")
	}
}
