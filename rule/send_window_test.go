package rule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A window opening at 01:30 opens twice on the night New York's clocks go
// back (1 November 2026): Next asked in the first pass's 01:15 returns the
// first 01:30, asked in the second pass's 01:15 the second, which
// Contains agrees is inside; asked after both, the next day's.
func TestSendWindowNextInTheRepeatedHour(t *testing.T) {
	ny := loadZone(t, "America/New_York")
	w := &SendWindow{From: At(1, 30), To: At(9, 0)}
	utc := func(h, m int) time.Time { return time.Date(2026, 11, 1, h, m, 0, 0, time.UTC) }
	require.Equal(t, utc(5, 30), w.Next(utc(5, 15), ny).UTC(), "first pass")
	require.Equal(t, utc(6, 30), w.Next(utc(6, 15), ny).UTC(), "second pass")
	require.True(t, w.Contains(utc(6, 30), ny))
	require.Equal(t, utc(6, 45), w.Next(utc(6, 45), ny).UTC(), "inside: itself")
	// 09:00 EST is 14:00 UTC; the next opening is 2 November 01:30 EST.
	require.Equal(t, time.Date(2026, 11, 2, 6, 30, 0, 0, time.UTC), w.Next(utc(14, 0), ny).UTC(), "after both")
}

// appendWallTimes gives both instants of a repeated wall time, one
// otherwise (a skipped one: the instant of the change, as WallTime).
func TestWallTimes(t *testing.T) {
	ny := loadZone(t, "America/New_York")
	require.Equal(t, []time.Time{time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)},
		utcAll(appendWallTimes(nil, 2026, 11, 1, 1, 30, ny)))
	require.Equal(t, []time.Time{time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)}, utcAll(appendWallTimes(nil, 2026, 3, 8, 2, 30, ny)))
	require.Equal(t, []time.Time{time.Date(2026, 6, 1, 13, 0, 0, 0, time.UTC)}, utcAll(appendWallTimes(nil, 2026, 6, 1, 9, 0, ny)))
}

func utcAll(ts []time.Time) []time.Time {
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = t.UTC()
	}
	return out
}

func loadZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// When Paris's clocks go back (25 October 2026, 03:00 CEST → 02:00 CET,
// at 01:00 UTC), a window [01:00, 02:30) asked at 02:45 CEST opens at the
// change, where the wall clock reads 02:00, not the next night.
func TestSendWindowOpensWhenTheClocksGoBackIntoIt(t *testing.T) {
	paris := loadZone(t, "Europe/Paris")
	w := &SendWindow{From: At(1, 0), To: At(2, 30)}
	asked := time.Date(2026, 10, 25, 0, 45, 0, 0, time.UTC) // 02:45 CEST
	require.False(t, w.Contains(asked, paris))
	require.Equal(t, time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), w.Next(asked, paris).UTC())
}

// A window on Sundays only, 02:00–02:30 in Paris, does not exist on the
// Sunday the clocks skip 02:00–03:00 (29 March 2026): asked the Friday
// before, Next finds the Sunday after, rather than giving up.
func TestSendWindowAWeeklyOpeningTheClocksSkip(t *testing.T) {
	paris := loadZone(t, "Europe/Paris")
	w := &SendWindow{From: At(2, 0), To: At(2, 30), Days: []time.Weekday{time.Sunday}}
	friday := time.Date(2026, 3, 27, 12, 0, 0, 0, paris)
	require.Equal(t, time.Date(2026, 4, 5, 2, 0, 0, 0, paris), w.Next(friday, paris))
}

// A whole-day window on Mondays ([09:00, 09:00) with Days) holds all of
// Monday: asked on Sunday, it opens at Monday's midnight.
func TestSendWindowWholeDayOpensAtMidnight(t *testing.T) {
	paris := loadZone(t, "Europe/Paris")
	w := &SendWindow{From: At(9, 0), To: At(9, 0), Days: []time.Weekday{time.Monday}}
	sunday := time.Date(2026, 6, 7, 12, 0, 0, 0, paris)
	require.Equal(t, time.Date(2026, 6, 8, 0, 0, 0, 0, paris), w.Next(sunday, paris))
	require.True(t, w.Contains(time.Date(2026, 6, 8, 0, 0, 0, 0, paris), paris))
}

// Next for a window that opens tomorrow, as a send-time deferral asks it.
func BenchmarkSendWindowNext(b *testing.B) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		b.Skip(err)
	}
	w := &SendWindow{From: At(9, 0), To: At(17, 0)}
	t := time.Date(2026, 6, 1, 20, 0, 0, 0, paris)
	for b.Loop() {
		_ = w.Next(t, paris)
	}
}

// A window whose To equals its From is open the whole day, and reads so:
// "00:00–00:00" would read as a window that never opens. An invalid
// bound still shows as it is.
func TestSendWindowString(t *testing.T) {
	for _, tc := range []struct {
		w    *SendWindow
		want string
	}{
		{nil, "any time"},
		{&SendWindow{From: At(9, 0), To: At(17, 0)}, "09:00–17:00"},
		{&SendWindow{From: At(22, 0), To: At(6, 0), Days: []time.Weekday{time.Friday}}, "22:00–06:00 on friday"},
		{&SendWindow{From: At(0, 0), To: At(0, 0)}, "all day"},
		{&SendWindow{From: At(9, 30), To: At(9, 30)}, "all day"},
		{&SendWindow{From: At(0, 0), To: At(0, 0), Days: []time.Weekday{time.Saturday, time.Sunday}}, "all day on saturday, sunday"},
		{&SendWindow{From: At(24, 0), To: At(24, 0)}, "TimeOfDay(-1)–TimeOfDay(-1)"},
	} {
		require.Equal(t, tc.want, tc.w.String())
	}
}
