package rule_test

import (
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/campaignconnector/campaignconnector/rule"
)

// changesBetween returns the instants loc's offset changes in years
// [y0, y1).
func changesBetween(loc *time.Location, y0, y1 int) []time.Time {
	var out []time.Time
	for u := time.Date(y0, 1, 1, 0, 0, 0, 0, time.UTC); u.Year() < y1; u = u.Add(time.Hour) {
		if _, end := u.In(loc).ZoneBounds(); !end.IsZero() && !end.After(u.Add(time.Hour)) {
			out = append(out, end)
		}
	}
	return out
}

// scanWallWide is scanWall looking further back: a day skipped whole is
// 24 hours of wall clock with no instant.
func scanWallWide(y int, m time.Month, d, h, min int, loc *time.Location) time.Time {
	want := time.Date(y, m, d, h, min, 0, 0, time.UTC)
	for u := want.Add(-40 * time.Hour); ; u = u.Add(time.Minute) {
		l := u.In(loc)
		if !time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC).Before(want) {
			return u
		}
	}
}

// Calendar delays and send windows agree with a scan of the wall clock
// around the changes of zones with unusual histories: Apia skipping 30
// December 2011, Kathmandu moving from +05:30 to +05:45, Kiritimati
// skipping 31 December 1994, changes at midnight (Beirut, Santiago,
// Havana), of half an hour (Lord Howe), and Troll's two-hour change, and Casablanca's
// Ramadan changes.
func TestZonesWithUnusualHistoriesAgreeWithAScan(t *testing.T) {
	cases := []struct {
		name   string
		y0, y1 int
	}{
		{"Pacific/Apia", 2011, 2012}, {"Asia/Kathmandu", 1985, 1987}, {"Asia/Beirut", 2026, 2027},
		{"America/Santiago", 2026, 2027}, {"America/Havana", 2012, 2013}, {"Australia/Lord_Howe", 2026, 2027},
		{"Europe/London", 2026, 2027}, {"America/New_York", 2026, 2027}, {"Pacific/Kiritimati", 1994, 1996},
		{"America/Sao_Paulo", 2018, 2019}, {"Africa/Casablanca", 2026, 2027}, {"Antarctica/Troll", 2026, 2027},
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range cases {
		loc, err := time.LoadLocation(c.name)
		if err != nil {
			t.Fatal(err)
		}
		changes := changesBetween(loc, c.y0, c.y1)
		if len(changes) == 0 {
			t.Fatalf("%s: no change in %d to %d", c.name, c.y0, c.y1)
		}
		for range 300 {
			at := changes[r.IntN(len(changes))].Add(time.Duration(r.IntN(6*24*60)-3*24*60) * time.Minute)
			hour, minute := r.IntN(24), r.IntN(60)
			y, m, day := at.In(loc).Date()
			n := r.IntN(4)
			got := rule.InDaysAt(n, hour, minute).DueAt(at, loc)
			if want := scanWallWide(y, m, day+n, hour, minute, loc); !got.Equal(want) {
				t.Errorf("%s InDaysAt(%d,%d,%d) at %s: %s want %s", c.name, n, hour, minute, at.In(loc), got.In(loc), want.In(loc))
			}
			w := &rule.SendWindow{From: rule.TimeOfDay(r.IntN(24 * 60)), To: rule.TimeOfDay(r.IntN(24 * 60))}
			if r.IntN(2) == 0 {
				for d := time.Sunday; d <= time.Saturday; d++ {
					if r.IntN(3) == 0 {
						w.Days = append(w.Days, d)
					}
				}
			}
			got = w.Next(at, loc)
			want := at
			if !w.Contains(at, loc) {
				u := at.Truncate(time.Minute)
				for u = u.Add(time.Minute); !w.Contains(u, loc); u = u.Add(time.Minute) {
				}
				want = u
			}
			if !got.Equal(want) {
				t.Errorf("%s window %v at %s: %s want %s", c.name, w, at.In(loc), got.In(loc), want.In(loc))
			}
		}
	}
}
