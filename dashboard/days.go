package dashboard

import "time"

// calendarDays is how many days, today included, the campaign page counts
// day by day.
const calendarDays = 7

// dayRow is one calendar day of a follow-up's decisions, in the
// dashboard's time zone: how many of each metric of dayMetrics.
type dayRow struct {
	Start  time.Time // the day's midnight, in the dashboard's zone
	Label  string    // "Today", "Yesterday, Sun 1 Mar", "Sat 28 Feb"
	Today  bool      // the day is not over: its counts are so far
	Counts []int64   // one per metric of dayMetrics
}

// Date is the day's date, for the page's data attributes.
func (d dayRow) Date() string { return d.Start.Format(time.DateOnly) }

// dayMetrics are the figures of the per-day table, in the order shown.
var dayMetrics = campaignMetrics

// daysSince returns the start of the oldest of the calendarDays days that
// end with now's in loc, on the hour before it: the hours of tallies the
// per-day table reads.
func daysSince(now time.Time, loc *time.Location) time.Time {
	y, m, d := now.In(loc).Date()
	return midnight(y, m, d-(calendarDays-1), loc).Truncate(time.Hour)
}

// midnight returns the start of the calendar day y-m-d in loc (d may be
// out of its month's range, as for time.Date): its midnight, or, where the
// clocks go forward at midnight (Chile, Cuba), the instant they jump, as
// the day then begins at 01:00.
func midnight(y int, m time.Month, d int, loc *time.Location) time.Time {
	y, m, d = time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Date()
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if ty, tm, td := t.Date(); ty == y && tm == m && td == d {
		return t
	}
	// time.Date put the skipped midnight in the day before: the day
	// begins where that day's zone ends.
	if _, end := t.ZoneBounds(); !end.IsZero() {
		if ey, em, ed := end.In(loc).Date(); ey == y && em == m && ed == d {
			return end.In(loc)
		}
	}
	return t
}

// countByDay counts ts (one follow-up's tallies) per calendar day in loc,
// for the calendarDays days that end with now's, newest first. A tally
// counts in the day its hour starts in: in a zone whose offset is not a
// whole number of hours, the hour that straddles midnight counts in the
// day before. Days follow the zone's clock changes (23 or 25 hours).
func countByDay(ts []tally, now time.Time, loc *time.Location) []dayRow {
	y, m, d := now.In(loc).Date()
	rows := make([]dayRow, calendarDays)
	index := map[string]int{}
	for i := range rows {
		start := midnight(y, m, d-i, loc)
		rows[i] = dayRow{Start: start, Label: start.Format("Mon 2 Jan"), Counts: make([]int64, len(dayMetrics))}
		index[rows[i].Date()] = i
	}
	rows[0].Label, rows[0].Today = "Today", true
	rows[1].Label = "Yesterday, " + rows[1].Label
	for _, t := range ts {
		i, ok := index[t.Hour.In(loc).Format(time.DateOnly)]
		if !ok {
			continue
		}
		for j, mt := range dayMetrics {
			if mt.counts(t) {
				rows[i].Counts[j] += t.Count
			}
		}
	}
	return rows
}
