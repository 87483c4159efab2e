package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Where the clocks go forward at midnight (Chile in September, Cuba in
// March), the day of the change begins at 01:00: it has a row of its own
// in Day by day, 23 hours long, and its page counts the same hours; the
// day before keeps its 24.
func TestDayWhoseMidnightTheClocksSkip(t *testing.T) {
	for _, c := range []struct {
		zone        string
		now         time.Time
		before, day string
		label       string
	}{
		{"America/Santiago", time.Date(2026, 9, 8, 12, 20, 0, 0, time.UTC), "2026-09-05", "2026-09-06", "Sun 6 Sep"},
		{"America/Havana", time.Date(2026, 3, 10, 12, 20, 0, 0, time.UTC), "2026-03-07", "2026-03-08", "Sun 8 Mar"},
	} {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Skipf("no zone %s: %v", c.zone, err)
		}
		h := mustHandler(t, hourlySends(c.now), WithLocation(loc))
		days := section(t, body(t, get(t, h, "/campaign?id=remind"), http.StatusOK), `id="days"`, "</section>")
		if n := strings.Count(days, `data-day="`+c.before+`"`); n != 1 {
			t.Errorf("%s: %d rows of %s", c.zone, n, c.before)
		}
		if !strings.Contains(days, `data-day="`+c.day+`"`) {
			t.Fatalf("%s: no row of %s, the day of the clock change:\n%s", c.zone, c.day, days)
		}
		if !strings.Contains(section(t, days, `data-day="`+c.day+`"`, "</tr>"), c.label) {
			t.Errorf("%s: the row of %s does not say %q", c.zone, c.day, c.label)
		}
		for date, want := range map[string]int64{c.before: 24, c.day: 23} {
			if got := dayCount(t, days, date, "sent"); got != want {
				t.Errorf("%s: the row of %s sent %d, want its %d hours", c.zone, date, got, want)
			}
			page := body(t, get(t, h, "/campaign?id=remind&day="+date), http.StatusOK)
			if got := number(t, page, `data-step="sent"`); got != want {
				t.Errorf("%s: the page of %s sent %d, want its %d hours", c.zone, date, got, want)
			}
		}
		page := body(t, get(t, h, "/campaign?id=remind&day="+c.day), http.StatusOK)
		if shown := section(t, page, "data-day-shown", "</p>"); !strings.Contains(shown, c.label) || !strings.Contains(shown, "23 hours") {
			t.Errorf("%s: the page of %s says %s", c.zone, c.day, shown)
		}
	}
}

// Where the clocks change by half an hour (Lord Howe Island), the page
// says the day's own length, not the hours of tallies it counts.
func TestDayOfAHalfHourClockChangeSaysItsLength(t *testing.T) {
	loc, err := time.LoadLocation("Australia/Lord_Howe")
	if err != nil {
		t.Skipf("no zone: %v", err)
	}
	for now, want := range map[time.Time]string{
		time.Date(2026, 4, 7, 12, 20, 0, 0, time.UTC):  "Sun 5 Apr 2026, midnight to midnight in Australia/Lord_Howe (24 hours 30 minutes: the clocks changed that day)",
		time.Date(2026, 10, 6, 12, 20, 0, 0, time.UTC): "Sun 4 Oct 2026, midnight to midnight in Australia/Lord_Howe (23 hours 30 minutes: the clocks changed that day)",
	} {
		date := map[int]string{4: "2026-04-05", 10: "2026-10-04"}[int(now.Month())]
		page := body(t, get(t, mustHandler(t, hourlySends(now), WithLocation(loc)), "/campaign?id=remind&day="+date), http.StatusOK)
		if shown := section(t, page, "data-day-shown", "</p>"); !strings.Contains(shown, want) {
			t.Errorf("the page of %s says %s", date, shown)
		}
	}
}
