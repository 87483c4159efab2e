package connector

import (
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// zoneWords names zone loc for a decision's detail, with where it came
// from: "Europe/Paris (directory)" when the Directory gave it,
// "UTC (engine default)" when it is the engine's location (no Directory,
// or one that has no zone for the user). The name is the host's (a
// Directory may return any zone, named as it likes): it is clipped. A
// zone without a name (time.FixedZone("", …)) is named by its offset
// from UTC at instant t: "UTC-05:00".
func zoneWords(loc *time.Location, byDirectory bool, t time.Time) string {
	name := loc.String()
	if name == "" {
		name = t.In(loc).Format("UTC-07:00")
	}
	if byDirectory {
		return clip(name) + " (directory)"
	}
	return clip(name) + " (engine default)"
}

// localWords is instant t on loc's wall clock, to the minute, with its
// weekday (send windows may open on given days): "Mon 22:30 local". In
// the hour a clock set back shows twice, it says which of the two, and
// the offset from UTC that tells them apart: "Sun 01:15 local (the first
// of two, UTC-04:00)".
func localWords(t time.Time, loc *time.Location) string {
	local := t.In(loc)
	words := local.Format("Mon 15:04") + " local"
	if other, ok := sameWallClock(local); ok {
		which := "the first of two"
		if other.Before(t) {
			which = "the second of two"
		}
		words += " (" + which + ", " + local.Format("UTC-07:00") + ")"
	}
	return words
}

// sameWallClock returns the other instant whose wall clock, in t's
// location, reads as t's, if there is one: t falls in the hour (or half
// hour, or any span) a clock set back shows twice, at the start of t's
// zone period (t is the second of the two) or at its end (the first).
func sameWallClock(t time.Time) (time.Time, bool) {
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	if !start.IsZero() {
		_, prev := start.Add(-time.Nanosecond).Zone()
		if back := time.Duration(prev-off) * time.Second; back > 0 && t.Sub(start) < back {
			return t.Add(-back), true
		}
	}
	if !end.IsZero() {
		_, next := end.Zone()
		if back := time.Duration(off-next) * time.Second; back > 0 && end.Sub(t) <= back {
			return t.Add(back), true
		}
	}
	return time.Time{}, false
}

// sendTimeWhy is the part of a deferral's or a drop's detail that shows
// the check of j.reason that failed at j.now, for a send window or quiet
// hours: "quiet hours 21:00–08:00 in Europe/Paris (directory), at Mon
// 22:30 local", the local time being when the delivery would have gone.
// It is "" for the other reasons, and when nobody observes the decisions.
func (j *job) sendTimeWhy() string {
	e := j.w.e
	if !e.observed || j.loc == nil {
		return ""
	}
	var what string
	switch {
	case j.reason == rule.ReasonQuietHours && e.cfg.quiet != nil:
		what = "quiet hours " + e.cfg.quiet.From.String() + "–" + e.cfg.quiet.To.String()
	case j.reason == rule.ReasonOutsideSendWindow && j.camp != nil:
		what = "send window " + j.camp.Campaign.SendWindow.String()
	default:
		return ""
	}
	return what + " in " + zoneWords(j.loc, j.locByDirectory, j.now) + ", at " + localWords(j.now, j.loc)
}
