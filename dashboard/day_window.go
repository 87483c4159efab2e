package dashboard

import (
	"fmt"
	"net/url"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
)

// paramDay is the campaign page's parameter that counts over one calendar
// day instead of a rolling window: day=2026-03-01.
const paramDay = "day"

// dayLayout is how a day is written in the page's headings.
const dayLayout = "Mon 2 Jan 2006"

// tallyKeeper is the optional part of a source that says how long the
// store keeps decision tallies: *connector.Engine has it
// (Engine.TallyRetention), and so does engineSource.
type tallyKeeper interface {
	TallyRetention() time.Duration
}

// dayHours returns the hours of tallies that count in the calendar day
// starting at midnight start (in its zone), as countByDay counts them: the
// hours that start in the day, from its first whole hour to the next
// day's. The day is 23 or 25 hours long on a clock change; in a zone
// whose offset is not a whole number of hours, it starts with the first
// hour that begins after midnight.
func dayHours(start time.Time) (since, until time.Time) {
	y, m, d := start.Date()
	next := midnight(y, m, d+1, start.Location())
	return ceilHour(start), ceilHour(next)
}

// ceilHour is the start of the first hour that begins at t or after.
func ceilHour(t time.Time) time.Time {
	h := t.Truncate(time.Hour)
	if h.Before(t) {
		h = h.Add(time.Hour)
	}
	return h.UTC()
}

// dayWindow returns the window of the calendar day starting at midnight
// start, counted hour by hour.
func dayWindow(start time.Time) window {
	since, until := dayHours(start)
	return window{Key: start.Format(time.DateOnly), Label: start.Format(dayLayout), Span: until.Sub(since), Bucket: time.Hour, Start: since, calendar: true}
}

// dayShown is what the campaign page says of the calendar day it counts
// over, when it counts over one.
type dayShown struct {
	Label string // "Sun 29 Mar 2026", "today, Wed 4 Mar 2026"
	Zone  string // the dashboard's zone, by name
	// Length is the day's length, midnight to midnight, when a clock
	// change makes it other than 24 hours ("23 hours", "24 hours 30
	// minutes"), "" otherwise.
	Length string
	// Gone says why the page shows no figures of the day: it has not
	// begun, or the store no longer keeps its tallies. Partial says which
	// of its hours the store no longer keeps, when some.
	Gone, Partial string
}

// dayParam reads the calendar day the campaign page counts over, in loc,
// at now. ok is false when the query names none. A value that is not a
// date is an error; a day that has not begun or whose tallies the store
// no longer keeps (kept, at now) is a window all the same, which shown
// says the page cannot count.
func dayParam(q url.Values, now time.Time, loc *time.Location, kept time.Duration) (w window, shown dayShown, ok bool, err error) {
	if !q.Has(paramDay) {
		return window{}, dayShown{}, false, nil
	}
	v := q.Get(paramDay)
	const how = "write it as year-month-day, as in 2026-03-01"
	if len(v) != len(time.DateOnly) {
		// Not echoed: it may be long, and is not a date anyway.
		return window{}, dayShown{}, false, fmt.Errorf("bad day: %s", how)
	}
	date, perr := time.Parse(time.DateOnly, v)
	if perr != nil {
		return window{}, dayShown{}, false, fmt.Errorf("bad day %q: %s", v, how)
	}
	start := midnight(date.Year(), date.Month(), date.Day(), loc)
	w = dayWindow(start)
	shown = dayShown{Label: w.Label, Zone: loc.String()}
	y, m, d := start.Date()
	if length := midnight(y, m, d+1, loc).Sub(start); length != 24*time.Hour {
		shown.Length = plural(int64(length/time.Hour), "hour")
		if mins := length % time.Hour / time.Minute; mins > 0 {
			shown.Length += " " + plural(int64(mins), "minute")
		}
	}
	y, m, d = now.In(loc).Date()
	today := midnight(y, m, d, loc)
	keptFrom := keptSince(now, kept)
	switch since, until := w.bounds(now); {
	case start.Equal(today):
		shown.Label += " (today, so far)"
	case start.After(today):
		shown.Gone = fmt.Sprintf("%s has not begun yet in %s: today is %s.", w.Label, shown.Zone, today.Format(dayLayout))
	case !until.After(keptFrom):
		shown.Gone = fmt.Sprintf("%s is older than the %s the store keeps decision tallies for: its counts are gone, so this page cannot say what happened that day.", w.Label, durationWords(kept))
	case since.Before(keptFrom):
		shown.Partial = fmt.Sprintf("The store keeps decision tallies for %s: the hours of this day before %s are pruned, or about to be, so its counts are of the rest of the day only.", durationWords(kept), formatTime(keptFrom, loc))
	}
	return w, shown, true, nil
}

// keptSince is the first hour of tallies the store keeps at now, when it
// keeps them for kept: the engine's prune removes the hours before.
func keptSince(now time.Time, kept time.Duration) time.Time {
	return now.Add(-kept).UTC().Truncate(time.Hour)
}

// tallyRetention is how long src's store keeps decision tallies: its
// engine's retention, or the default when src does not say.
func tallyRetention(src source) time.Duration {
	if k, ok := src.(tallyKeeper); ok && k.TallyRetention() > 0 {
		return k.TallyRetention()
	}
	return connector.DefaultTallyRetention
}
