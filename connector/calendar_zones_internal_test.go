package connector

import (
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/campaignconnector/campaignconnector/rule"
)

// earliestCalendarDue is never after the due time a real zone gives,
// whatever the trigger and the calendar delay.
func TestEarliestCalendarDueIsABound(t *testing.T) {
	names := []string{"UTC", "Pacific/Kiritimati", "Etc/GMT+12", "Pacific/Pago_Pago", "Asia/Tokyo", "Asia/Kathmandu",
		"America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham",
		"Antarctica/Troll", "Africa/Casablanca", "Pacific/Apia", "America/St_Johns"}
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range names {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		for range 3000 {
			from := start.Add(time.Duration(r.Int64N(int64(5 * 365 * 24 * time.Hour))))
			var d rule.Delay
			if r.IntN(2) == 0 {
				d = rule.InDaysAt(r.IntN(10), r.IntN(24), r.IntN(60))
			} else {
				d = rule.NextWeekdayAt(time.Weekday(r.IntN(7)), r.IntN(24), r.IntN(60))
			}
			if got, due := earliestCalendarDue(d, from), d.DueAt(from, loc); got.After(due) {
				t.Fatalf("%s: %s triggered at %s: bound %s is after the due time %s", name, d, from, got, due)
			}
		}
	}
}

// Antarctica/Casey moved its clock forward by three hours (UTC+8 to
// UTC+11) on 2 October 2022: a trigger the evening before is due three
// hours earlier than at a fixed offset.
func TestEarliestCalendarDueAcrossCaseysJump(t *testing.T) {
	casey, err := time.LoadLocation("Antarctica/Casey")
	if err != nil {
		t.Fatal(err)
	}
	change := time.Date(2022, 10, 1, 16, 1, 0, 0, time.UTC) // 03:01 at UTC+11
	if _, off := change.Add(-time.Second).In(casey).Zone(); off != 8*60*60 {
		t.Skipf("this tzdata has no change of Casey's at %s", change)
	}
	for from := change.Add(-8 * 24 * time.Hour); from.Before(change); from = from.Add(7 * time.Minute) {
		for _, d := range []rule.Delay{rule.InDaysAt(1, 9, 0), rule.InDaysAt(2, 0, 30), rule.NextWeekdayAt(time.Sunday, 9, 0)} {
			if got, due := earliestCalendarDue(d, from), d.DueAt(from, casey); got.After(due) {
				t.Fatalf("%s triggered at %s: bound %s is after Casey's due time %s", d, from, got, due)
			}
		}
	}
}
