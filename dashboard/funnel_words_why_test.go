package dashboard

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// wantWords fails t unless words say each of want and none of not.
func wantWords(t *testing.T, name, words string, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(words, w) {
			t.Errorf("%s: the words lack %q:\n%s", name, w, words)
		}
	}
	for _, w := range not {
		if strings.Contains(words, w) {
			t.Errorf("%s: the words say %q:\n%s", name, w, words)
		}
	}
}

// A day when every event that matched the follow-up's triggers repeated
// the ID of one taken before: the page does not say that no event
// matched, but that they were duplicates.
func TestEmptyFunnelOfDuplicatesSaysSo(t *testing.T) {
	long := fixtureNow.Add(-20 * 24 * time.Hour)
	f := quietFake(rule.Active, long, long)
	f.tallies = []tally{{Hour: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC), CampaignID: "remind", Kind: rule.Duplicate, Reason: rule.ReasonDuplicateEvent, Count: 7}}
	words := funnelWordsOf(t, f, "/campaign?id=remind&day=2026-03-03")
	wantWords(t, "duplicates", words,
		[]string{"7 events that matched its triggers", "duplicates", `receives the email "newsletter"`},
		[]string{"no event the engines took matched"})
}

// A follow-up created during the day: the page says it did not exist
// before then, not that it cannot say whether it was active.
func TestEmptyFunnelOfADayItWasCreatedIn(t *testing.T) {
	created := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		state     rule.State
		updated   time.Time
		want, not []string
	}{
		{"active since", rule.Active, created,
			[]string{"It was created at 2026-03-03 09:00:00 UTC, during this day", "It is active now and has not changed since"},
			[]string{"cannot say", "active before then"}},
		{"a draft since", rule.Draft, created,
			[]string{"It was created at 2026-03-03 09:00:00 UTC, during this day", "It is a draft now and has not changed since", "triggers on nothing"},
			[]string{"cannot say"}},
		{"updated later", rule.Active, fixtureNow.Add(-time.Hour),
			[]string{"It was created at 2026-03-03 09:00:00 UTC, during this day", "last updated at 2026-03-04 14:20:00 UTC", "cannot say whether it was active between"},
			[]string{"active before then"}},
	} {
		words := funnelWordsOf(t, quietFake(c.state, created, c.updated), "/campaign?id=remind&day=2026-03-03")
		wantWords(t, c.name, words, c.want, c.not)
	}
}

// Deliveries scheduled and none sent: the words say how long the
// follow-up waits in the words of its rules, for each kind of delay.
func TestEmptyFunnelSaysTheDelayInWords(t *testing.T) {
	long := fixtureNow.Add(-20 * 24 * time.Hour)
	for delay, want := range map[rule.Delay]string{
		rule.After(24 * time.Hour):            "its definition says: send after 1 day",
		rule.NextWeekdayAt(time.Monday, 9, 0): "its definition says: send next monday at 09:00",
		rule.InDaysAt(2, 9, 30):               "its definition says: send in 2 days at 09:30",
	} {
		f := quietFake(rule.Active, long, long)
		rec := f.campaigns["remind"]
		rec.Campaign.Delay = delay
		f.campaigns["remind"] = rec
		f.tallies = []tally{{Hour: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC), CampaignID: "remind", Kind: rule.Scheduled, Count: 5}}
		words := funnelWordsOf(t, f, "/campaign?id=remind&day=2026-03-03")
		wantWords(t, delay.String(), words, []string{want, "may fall due later"}, []string{"the trigger:"})
	}
}

// A window whose first hours the store no longer keeps (a day at the
// edge of the retention, the last 30 days of an engine that keeps 3):
// the words claim nothing of the hours gone.
func TestEmptyFunnelSaysNothingOfPrunedHours(t *testing.T) {
	old := fixtureNow.Add(-60 * 24 * time.Hour)
	for _, c := range []struct {
		keep   time.Duration
		target string
		want   string
		not    string
	}{
		{0, "/campaign?id=remind&day=2026-02-02", "Nothing triggered it on Mon 2 Feb 2026, in the hours the store keeps (from 2026-02-02 15:00:00 UTC)", "on Mon 2 Feb 2026:"},
		{72 * time.Hour, "/campaign?id=remind&range=30d", "Nothing triggered it in the last 30 days, in the hours the store keeps (from 2026-03-01 15:00:00 UTC)", "in the last 30 days:"},
	} {
		var src source = quietFake(rule.Active, old, old)
		if c.keep > 0 {
			src = keepingFake{src.(*fakeSource), c.keep}
		}
		page := body(t, get(t, mustHandler(t, src), c.target), http.StatusOK)
		words := html.UnescapeString(section(t, page, `data-funnel-words`, "</div>"))
		wantWords(t, c.target, words, []string{c.want}, []string{c.not})
	}
}

// Deliveries due in the window and moved later (send window, quiet
// hours, rate limit), none sent: the words say so, even of a follow-up
// that sends at once.
func TestEmptyFunnelOfDeferredDeliveriesSaysSo(t *testing.T) {
	long := fixtureNow.Add(-20 * 24 * time.Hour)
	f := quietFake(rule.Active, long, long)
	rec := f.campaigns["remind"]
	rec.Campaign.Delay = rule.Immediately()
	f.campaigns["remind"] = rec
	hour := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	f.tallies = []tally{
		{Hour: hour, CampaignID: "remind", Kind: rule.Scheduled, Count: 3},
		{Hour: hour, CampaignID: "remind", Kind: rule.Deferred, Reason: rule.ReasonRateLimited, Count: 4},
	}
	words := funnelWordsOf(t, f, "/campaign?id=remind&day=2026-03-03")
	wantWords(t, "deferred", words, []string{"Nothing was sent on Tue 3 Mar 2026", "moved later 4 times"}, []string{"does not send at once"})
}

// A follow-up whose control group holds out every user sends nothing by
// design: the words say so, not only that nothing was sent.
func TestEmptyFunnelOfAControlGroupOfAll(t *testing.T) {
	long := fixtureNow.Add(-20 * 24 * time.Hour)
	hour := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		percent   int
		want, not []string
	}{
		{100, []string{"3 deliveries were held out in its control group", "its definition holds out every user (100%)", "sends to no one"}, nil},
		{20, []string{"3 deliveries were held out in its control group", "its definition holds out 20% of users"}, []string{"sends to no one"}},
		{0, []string{"3 deliveries were held out in its control group", "it holds out no user now"}, []string{"sends to no one", "0%"}},
	} {
		f := quietFake(rule.Active, long, long)
		rec := f.campaigns["remind"]
		rec.Campaign.ControlPercent = c.percent
		f.campaigns["remind"] = rec
		f.tallies = []tally{
			{Hour: hour, CampaignID: "remind", Kind: rule.Scheduled, Count: 3},
			{Hour: hour, CampaignID: "remind", Kind: rule.HeldOut, Reason: rule.ReasonControlGroup, Count: 3},
		}
		words := funnelWordsOf(t, f, "/campaign?id=remind&day=2026-03-03")
		wantWords(t, fmt.Sprint(c.percent, "%"), words, c.want, c.not)
	}
}

// Of today, not over yet, the page says what the follow-up was all day
// so far, not all day.
func TestEmptyFunnelOfTodaySaysSoFar(t *testing.T) {
	words := funnelWordsOf(t, quietFake(rule.Stopped, fixtureNow.Add(-20*24*time.Hour), fixtureNow.Add(-3*24*time.Hour)), "/campaign?id=remind&day=2026-03-04")
	wantWords(t, "today", words, []string{"It was stopped all day so far:"}, []string{"stopped all day:"})
}
