package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris wherever the test runs

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// hourlySends is a fake at now with one follow-up, "remind", that sent one
// message in every hour of the 10 days before now's hour, and that one.
func hourlySends(now time.Time) *fakeSource {
	f := newFake(now)
	f.add(rule.Campaign{ID: "remind", Delay: rule.After(time.Hour),
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}, rule.Active)
	end := now.Truncate(time.Hour)
	for h := range 10 * 24 {
		f.tallies = append(f.tallies, tally{Hour: end.Add(-time.Duration(h) * time.Hour), CampaignID: "remind", Kind: rule.Delivered, Count: 1})
	}
	return f
}

// dayCount reads the count of metric key on the day dated date of page.
func dayCount(t *testing.T, page, date, key string) int64 {
	t.Helper()
	return number(t, section(t, page, `data-day="`+date+`"`, "</tr>"), `data-metric="`+key+`"`)
}

// A manager asks how many reminders went out yesterday and today: the
// campaign page counts them per calendar day of the dashboard's zone,
// midnight to midnight there, whatever the range of the rest of the page.
func TestCampaignPageCountsEachCalendarDay(t *testing.T) {
	hawaii := time.FixedZone("HST", -10*3600) // fixtureNow, 15:20 UTC, is 05:20 there
	f := hourlySends(fixtureNow)
	for _, target := range []string{"/campaign?id=remind", "/campaign?id=remind&range=24h"} {
		page := body(t, get(t, mustHandler(t, f, WithLocation(hawaii)), target), http.StatusOK)
		days := section(t, page, `id="days"`, "</section>")
		if got := dayCount(t, days, "2026-03-04", "sent"); got != 6 { // 00:00–05:59 HST
			t.Errorf("%s: sent today %d, want 6", target, got)
		}
		if got := dayCount(t, days, "2026-03-03", "sent"); got != 24 {
			t.Errorf("%s: sent yesterday %d, want 24", target, got)
		}
		if got := dayCount(t, days, "2026-02-26", "sent"); got != 24 {
			t.Errorf("%s: sent six days ago %d, want 24", target, got)
		}
		if strings.Contains(days, `data-day="2026-02-25"`) {
			t.Errorf("%s: more than %d days", target, calendarDays)
		}
		for _, want := range []string{"Today</time></a> <span class=\"muted\">so far", "Yesterday, Tue 3 Mar</time>", "Mon 2 Mar</time>", "midnight to midnight in HST"} {
			if !strings.Contains(days, want) {
				t.Errorf("%s: the days lack %q", target, want)
			}
		}
	}
}

// A day of a clock change counts its 23 or 25 hours.
func TestCalendarDaysFollowClockChanges(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, time.March, 30, 12, 20, 0, 0, time.UTC) // the day after the change to summer time
	f := hourlySends(now)
	rows := countByDay(f.tallies, now, paris)
	sent := func(i int) int64 { return rows[i].Counts[indexOf(t, mSent.Key)] }
	if rows[1].Date() != "2026-03-29" || sent(1) != 23 {
		t.Errorf("the day of the change (%s) counts %d hours, want 23", rows[1].Date(), sent(1))
	}
	if sent(0) != 15 || sent(2) != 24 { // 00:00–14:59 CEST today
		t.Errorf("today %d, want 15; the day before the change %d, want 24", sent(0), sent(2))
	}
}

func indexOf(t *testing.T, key string) int {
	t.Helper()
	for i, m := range dayMetrics {
		if m.Key == key {
			return i
		}
	}
	t.Fatalf("no metric %q in dayMetrics", key)
	return -1
}
