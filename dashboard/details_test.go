package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
)

func TestDetailWords(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	for in, want := range map[string]string{
		"waiting since 2026-01-05T09:06:16.989004584Z":                  "waiting since 2026-01-05 10:06:16 CET",
		"due 2026-01-05T09:00:00Z, not before end 2026-01-06T00:00:00Z": "due 2026-01-05 10:00:00 CET, not before end 2026-01-06 01:00:00 CET",
		"late by 1h2m3.123456789s":                                      "late by 1 hour 2 minutes",
		"late by 2m59.9s; control group: nothing will be sent":          "late by 3 minutes; control group: nothing will be sent",
		"late by 350ms": "late by less than a second",
		"due at 2026-01-05T09:00:00Z, 1h20m0s ago, and nothing sent it": "due at 2026-01-05 10:00:00 CET, 1 hour 20 minutes ago, and nothing sent it",
		"happened 72h0m0.4s ago": "happened 3 days ago",
		"happened 20ms ago":      "happened less than a second ago",
		"stamped 2027-01-05T09:00:00.5Z, 8759h59m59.189705899s ahead of the clock": "stamped 2027-01-05 10:00:00 CET, 364 days 23 hours ahead of the clock",
		"stamped 9000-01-01T00:00:00Z, over 292 years ahead of the clock":          "stamped 9000-01-01 01:00:00 CET, over 292 years ahead of the clock",
		`smtp: 550 "2026-01-05T09:06:16Zebra" unknown`:                             `smtp: 550 "2026-01-05T09:06:16Zebra" unknown`,
		"no time here": "no time here",
	} {
		if got := detailWords(in, cet); got != want {
			t.Errorf("detailWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// The engine writes the instants of a detail in UTC to the nanosecond;
// the pages show them as every other time, in the dashboard's zone: the
// user's timeline, the warnings of the campaign and health pages and a
// campaign's start and end.
func TestDetailsShowTimesAsThePagesDo(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	f := populatedFake()
	x := f.explain[[2]string{"ann", "resend"}]
	x.Decisions = append(x.Decisions, rule.Decision{Kind: rule.Cancelled, Reason: rule.ReasonException, CampaignID: "resend", UserID: "ann",
		Rule: resendException, Detail: "waiting since 2026-03-01T09:06:16.989004584Z", At: fixtureNow.Add(-time.Hour)})
	f.explain[[2]string{"ann", "resend"}] = x
	f.warnings = append(f.warnings, connector.Warning{CampaignID: "resend", Reason: rule.ReasonOverdueDeliveries,
		Detail: "the earliest pending delivery was due at 2026-03-04T14:00:00.5Z, 1h20m0s ago"})
	rec := f.campaigns["resend"]
	rec.Campaign.End = time.Date(2026, time.April, 1, 0, 0, 0, 0, time.UTC)
	f.campaigns["resend"] = rec
	h := mustHandler(t, f, WithLocation(cet))
	for target, want := range map[string]string{
		"/user?id=ann":        "waiting since 2026-03-01 10:06:16 CET",
		"/campaign?id=resend": "was due at 2026-03-04 15:00:00 CET, 1 hour 20 minutes ago",
		"/health":             "was due at 2026-03-04 15:00:00 CET, 1 hour 20 minutes ago",
		"/":                   "Runs until 2026-04-01 01:00:00 CET.",
	} {
		page := body(t, get(t, h, target), http.StatusOK)
		if !strings.Contains(page, want) {
			t.Errorf("%s lacks %q", target, want)
		}
		if m := stampPattern.FindString(page); m != "" && !strings.Contains(page, `datetime="`+m+`"`) {
			t.Errorf("%s shows the instant %s as the engine writes it", target, m)
		}
	}
}
