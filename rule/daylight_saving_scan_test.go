package rule_test

import (
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // zones must not depend on the machine's tz database

	"github.com/campaignconnector/campaignconnector/rule"
)

// scanZones have daylight-saving changes of every shape: at 02:00 or at
// midnight, of an hour or of half an hour, north and south, and none.
var scanZones = []string{
	"Europe/Paris", "America/New_York", "America/Havana", "America/Santiago",
	"Australia/Sydney", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata", "UTC",
}

// changesOf returns the instants loc's offset changes in 2026, or one
// instant of that year for a zone without changes.
func changesOf(loc *time.Location) []time.Time {
	var out []time.Time
	for u := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); u.Year() < 2027; u = u.Add(time.Hour) {
		if _, end := u.In(loc).ZoneBounds(); !end.IsZero() && !end.After(u.Add(time.Hour)) {
			out = append(out, end)
		}
	}
	if len(out) == 0 {
		out = append(out, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC))
	}
	return out
}

// scanWall returns, by scanning minute by minute, the first instant whose
// wall clock in loc reads y-m-d h:min or later: the first occurrence of a
// repeated wall time, the instant of the change for a skipped one.
func scanWall(y int, m time.Month, d, h, min int, loc *time.Location) time.Time {
	want := time.Date(y, m, d, h, min, 0, 0, time.UTC) // the wall time, read as UTC
	for u := want.Add(-15 * time.Hour); ; u = u.Add(time.Minute) {
		l := u.In(loc)
		if !time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC).Before(want) {
			return u
		}
	}
}

// Calendar delays agree with a scan of the wall clock around the
// daylight-saving changes of many zones.
func TestCalendarDelaysAgreeWithAScanOfTheWallClock(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, name := range scanZones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		changes := changesOf(loc)
		for range 300 {
			at := changes[r.IntN(len(changes))].Add(time.Duration(r.IntN(10*24*60)-8*24*60) * time.Minute)
			hour, minute := r.IntN(24), r.IntN(4)*15
			y, m, day := at.In(loc).Date()
			var d rule.Delay
			var want time.Time
			if r.IntN(2) == 0 {
				n := r.IntN(9)
				d, want = rule.InDaysAt(n, hour, minute), scanWall(y, m, day+n, hour, minute, loc)
			} else {
				wd := time.Weekday(r.IntN(7))
				add := (int(wd)-int(at.In(loc).Weekday())+6)%7 + 1 // 1 to 7 days later
				d, want = rule.NextWeekdayAt(wd, hour, minute), scanWall(y, m, day+add, hour, minute, loc)
			}
			if got := d.DueAt(at, loc); !got.Equal(want) {
				t.Fatalf("%s, %v triggered at %s: due %s, the scan says %s", name, d, at.In(loc), got.In(loc), want.In(loc))
			}
		}
	}
}

// scanNext returns, by scanning minute by minute, the first instant at or
// after t inside w: the wall clock changes only on whole minutes in
// these zones, so an instant that is not t is a whole minute.
func scanNext(w *rule.SendWindow, t time.Time, loc *time.Location) time.Time {
	if w.Contains(t, loc) {
		return t
	}
	u := t.Truncate(time.Minute)
	for u = u.Add(time.Minute); !w.Contains(u, loc); u = u.Add(time.Minute) {
	}
	return u
}

// A send window's next opening agrees with a scan of the instants it
// contains, around the daylight-saving changes of many zones, for windows
// of a day, overnight ones, whole days, and ones open on some days only.
func TestSendWindowNextAgreesWithAScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range scanZones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		changes := changesOf(loc)
		for range 1000 {
			w := &rule.SendWindow{From: rule.TimeOfDay(r.IntN(96) * 15), To: rule.TimeOfDay(r.IntN(96) * 15)}
			if r.IntN(3) == 0 {
				w.From = rule.TimeOfDay(r.IntN(24 * 60))
			}
			if r.IntN(2) == 0 {
				for d := time.Sunday; d <= time.Saturday; d++ {
					if r.IntN(3) == 0 {
						w.Days = append(w.Days, d)
					}
				}
			}
			change := changes[r.IntN(len(changes))]
			span := 4 * 24 * 60 // minutes around a change: within two days, or (half the time) three hours
			if r.IntN(2) == 0 {
				// Edges of the window near the wall times of the change:
				// the hour skipped or repeated.
				span = 6 * 60
				l := change.In(loc)
				edge := rule.TimeOfDay((l.Hour()*60 + l.Minute() + 15*(r.IntN(9)-4) + 24*60) % (24 * 60))
				if r.IntN(2) == 0 {
					w.From = edge
				} else {
					w.To = edge
				}
			}
			at := change.Add(time.Duration(r.IntN(span)-span/2)*time.Minute +
				time.Duration(r.IntN(2))*time.Duration(r.IntN(60))*time.Second)
			if got, want := w.Next(at, loc), scanNext(w, at, loc); !got.Equal(want) {
				t.Fatalf("%s, window %v asked at %s: next %s, the scan says %s", name, w, at.In(loc), got.In(loc), want.In(loc))
			}
		}
	}
}
