package connector

import (
	"testing"
	"time"
)

// localWords says which of the two instants a wall-clock time the clock
// shows twice (the hour, or half hour, a clock is set back) is, and only
// then.
func TestLocalWordsTellsTheRepeatedHourApart(t *testing.T) {
	ny := loadZone(t, "America/New_York")
	howe := loadZone(t, "Australia/Lord_Howe") // set back half an hour
	for _, c := range []struct {
		at   time.Time
		loc  *time.Location
		want string
	}{
		{time.Date(2026, 11, 1, 5, 15, 0, 0, time.UTC), ny, "Sun 01:15 local (the first of two, UTC-04:00)"},
		{time.Date(2026, 11, 1, 6, 15, 0, 0, time.UTC), ny, "Sun 01:15 local (the second of two, UTC-05:00)"},
		{time.Date(2026, 11, 1, 4, 59, 0, 0, time.UTC), ny, "Sun 00:59 local"},
		{time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC), ny, "Sun 02:00 local"},
		{time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC), ny, "Sun 03:30 local"}, // after the skipped hour
		{time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), ny, "Mon 08:00 local"},
		// Lord Howe sets its clock back from 02:00 to 01:30 on 5 April 2026.
		{time.Date(2026, 4, 4, 14, 40, 0, 0, time.UTC), howe, "Sun 01:40 local (the first of two, UTC+11:00)"},
		{time.Date(2026, 4, 4, 15, 10, 0, 0, time.UTC), howe, "Sun 01:40 local (the second of two, UTC+10:30)"},
		{time.Date(2026, 4, 4, 14, 20, 0, 0, time.UTC), howe, "Sun 01:20 local"},
		{time.Date(2026, 1, 6, 22, 30, 0, 0, time.UTC), time.UTC, "Tue 22:30 local"},
		{time.Date(2026, 1, 6, 22, 30, 0, 0, time.UTC), time.FixedZone("", -5*3600), "Tue 17:30 local"},
	} {
		if got := localWords(c.at, c.loc); got != c.want {
			t.Errorf("localWords(%s, %s) = %q, want %q", c.at.Format(time.RFC3339), c.loc, got, c.want)
		}
	}
}

func loadZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// sameWallClock agrees, every five minutes of a year, with a count of the
// instants each wall-clock reading is shown at, in zones set back by an
// hour, by half an hour, and by 23 hours (Kwajalein in 1969).
func TestSameWallClockMatchesACountOfEachReading(t *testing.T) {
	for _, c := range []struct {
		zone string
		year int
	}{{"America/New_York", 2026}, {"Australia/Lord_Howe", 2026}, {"Pacific/Kwajalein", 1969}, {"Europe/Paris", 2026}} {
		loc := loadZone(t, c.zone)
		from := time.Date(c.year, 1, 1, 0, 0, 0, 0, time.UTC).Add(-48 * time.Hour)
		until := time.Date(c.year+1, 1, 1, 0, 0, 0, 0, time.UTC).Add(48 * time.Hour)
		shown := map[string][]time.Time{}
		for m := from; m.Before(until); m = m.Add(5 * time.Minute) {
			w := m.In(loc).Format("2006-01-02 15:04")
			shown[w] = append(shown[w], m)
		}
		repeated := 0
		for m := from.Add(24 * time.Hour); m.Before(until.Add(-24 * time.Hour)); m = m.Add(5 * time.Minute) {
			at := shown[m.In(loc).Format("2006-01-02 15:04")]
			other, ok := sameWallClock(m.In(loc))
			switch {
			case len(at) == 2:
				repeated++
				want := at[0]
				if want.Equal(m) {
					want = at[1]
				}
				if !ok || !other.Equal(want) {
					t.Fatalf("%s %s: sameWallClock = %s, %v; want %s", c.zone, m.Format(time.RFC3339), other, ok, want)
				}
			case ok:
				t.Fatalf("%s %s: sameWallClock = %s for a time shown once", c.zone, m.Format(time.RFC3339), other)
			}
		}
		if repeated == 0 {
			t.Errorf("%s %d: no repeated time in the year: the test checks nothing", c.zone, c.year)
		}
	}
}
