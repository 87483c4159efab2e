package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Each row of Day by day links to the campaign page over that day.
func TestDayByDayLinksEachDayToItsWindow(t *testing.T) {
	page := body(t, get(t, mustHandler(t, hourlySends(fixtureNow)), "/campaign?id=remind"), http.StatusOK)
	days := section(t, page, `id="days"`, "</section>")
	for _, date := range []string{"2026-03-04", "2026-03-03", "2026-02-26"} {
		row := section(t, days, `data-day="`+date+`"`, "</tr>")
		if !strings.Contains(row, `href="campaign?id=remind&amp;day=`+date+`#funnel"`) {
			t.Errorf("the row of %s links to no window of its day:\n%s", date, row)
		}
	}
}

// A manager asks why nothing went out on a day: the page over that day
// counts, in its funnel and its decisions, what Day by day counts on that
// day's row, midnight to midnight in the dashboard's zone (23 hours on the
// day the clocks go forward, the hour straddling midnight in a zone half
// an hour off counted in the day before, as the row counts it).
func TestCampaignPageOverOneDayCountsWhatItsRowCounts(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	india := time.FixedZone("IST", 5*3600+1800)
	now := time.Date(2026, time.March, 30, 12, 20, 0, 0, time.UTC)
	for _, loc := range []*time.Location{paris, india, time.UTC} {
		h := mustHandler(t, hourlySends(now), WithLocation(loc))
		week := body(t, get(t, h, "/campaign?id=remind"), http.StatusOK)
		for i := range calendarDays {
			date := now.In(loc).AddDate(0, 0, -i).Format(time.DateOnly)
			want := dayCount(t, section(t, week, `id="days"`, "</section>"), date, "sent")
			page := body(t, get(t, h, "/campaign?id=remind&day="+date), http.StatusOK)
			funnel := section(t, page, `id="funnel"`, "</section>")
			if got := number(t, funnel, `data-step="sent"`); got != want {
				t.Errorf("%s, %s: the funnel sent %d, the row %d", loc, date, got, want)
			}
			if got := number(t, section(t, page, `id="decisions"`, "</section>"), `data-kind="delivered"`); got != want {
				t.Errorf("%s, %s: the decisions count %d sent, the row %d", loc, date, got, want)
			}
		}
	}
	page := body(t, get(t, mustHandler(t, hourlySends(now), WithLocation(paris)), "/campaign?id=remind&day=2026-03-29"), http.StatusOK)
	if got := number(t, page, `data-step="sent"`); got != 23 {
		t.Errorf("the day the clocks go forward sent %d, want its 23 hours", got)
	}
	for _, want := range []string{
		"Funnel, Sun 29 Mar 2026", "Decisions over time, Sun 29 Mar 2026",
		"midnight to midnight in Europe/Paris", "23 hours: the clocks changed that day",
		`href="campaign?id=remind&amp;range=24h"`, `href="campaign?id=remind&amp;range=7d"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page of one day lacks %q", want)
		}
	}
	if nav := section(t, page, `class="ranges"`, "</nav>"); strings.Contains(nav, "aria-current") {
		t.Errorf("a rolling window is marked current on the page of one day:\n%s", nav)
	}
	if row := section(t, page, `data-day="2026-03-29"`, "</tr>"); !strings.Contains(row, `aria-current="date"`) {
		t.Errorf("the row of the day shown is not marked:\n%s", row)
	}
}

// The pages of pending deliveries keep the day the page shows.
func TestPendingPagesKeepTheDay(t *testing.T) {
	page := body(t, get(t, mustHandler(t, populatedFake()), "/campaign?id=resend&day=2026-03-03"), http.StatusOK)
	pager := section(t, page, `class="pager"`, "</nav>")
	if !strings.Contains(pager, "day=2026-03-03&amp;after_due=") {
		t.Errorf("the next page of pending deliveries forgets the day:\n%s", pager)
	}
}

// A day that is not a date, or too long to be one, is refused with a
// message that says how to write it; the value is not echoed when long.
func TestMalformedDayIsRefused(t *testing.T) {
	h := mustHandler(t, populatedFake())
	long := strings.Repeat("9", 5000)
	for _, v := range []string{"yesterday", "2026-13-01", "2026-02-30", "2026-3-1", "-1", "99999-01-01", long, "%FF", "2026-03-01T00:00:00Z"} {
		page := body(t, get(t, h, "/campaign?id=resend&day="+v), http.StatusBadRequest)
		if !strings.Contains(page, "year-month-day") {
			t.Errorf("day=%.20s: the message does not say how to write a day:\n%.500s", v, page)
		}
		if strings.Contains(page, long[:100]) {
			t.Errorf("day=%.20s…: echoed back", v)
		}
	}
}

// A day that has not begun, or whose tallies the store no longer keeps,
// shows the campaign with a note in place of figures, not zeros as if
// nothing happened; a day partly kept says which of its hours are gone.
func TestDayWithoutTalliesSaysWhy(t *testing.T) {
	h := mustHandler(t, populatedFake())
	for _, c := range []struct{ day, want string }{
		{"2026-03-05", "Thu 5 Mar 2026 has not begun yet"},
		{"9999-12-31", "has not begun yet"},
		{"2026-01-31", "older than the 30 days the store keeps decision tallies"},
		{"0001-01-01", "older than the 30 days"},
	} {
		page := body(t, get(t, h, "/campaign?id=resend&day="+c.day), http.StatusOK)
		if !strings.Contains(page, c.want) {
			t.Errorf("day=%s: the page lacks %q", c.day, c.want)
		}
		if strings.Contains(page, `id="funnel"`) || strings.Contains(page, `data-kind=`) {
			t.Errorf("day=%s: figures shown for a day without tallies", c.day)
		}
		if !strings.Contains(page, `href="campaign?id=resend&amp;range=7d"`) {
			t.Errorf("day=%s: no way back to the rolling windows", c.day)
		}
	}
	// fixtureNow is 15:20 UTC: the store keeps the hours from 15:00 UTC
	// thirty days before.
	page := body(t, get(t, h, "/campaign?id=resend&day=2026-02-02"), http.StatusOK)
	if !strings.Contains(page, "before 2026-02-02 15:00:00 UTC") || !strings.Contains(page, `id="funnel"`) {
		t.Errorf("the day partly pruned does not say which hours are gone:\n%s", section(t, page, `class="ranges"`, `id="days"`))
	}
}

// keepingFake is a fake whose engine keeps tallies for its own retention.
type keepingFake struct {
	*fakeSource
	keep time.Duration
}

func (f keepingFake) TallyRetention() time.Duration { return f.keep }

// The note says the engine's retention, not the default.
func TestDayOlderThanTheEnginesRetention(t *testing.T) {
	h := mustHandler(t, keepingFake{populatedFake(), 72 * time.Hour})
	page := body(t, get(t, h, "/campaign?id=resend&day=2026-02-28"), http.StatusOK)
	if !strings.Contains(page, "older than the 3 days the store keeps") {
		t.Errorf("the note does not say the engine's retention:\n%s", section(t, page, `class="ranges"`, `id="pending"`))
	}
}

// The engine's source says its engine's retention.
var _ tallyKeeper = engineSource{}
