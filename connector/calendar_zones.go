package connector

import (
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// Users' zones lie between UTC-12 and UTC+14, and a clock change moves
// the clock forward by at most three hours (Antarctica/Casey's, UTC+8 to
// UTC+11, as late as 2022). Left out: the whole days that islands moving
// across the date line skipped (Samoa's 30 December 2011), and the local
// mean times of before 1900.
const (
	westmostOffset = -12 * 60 * 60 // seconds
	eastmostOffset = 14 * 60 * 60
	maxClockJump   = 3 * time.Hour
)

// earliestCalendarDue returns a time no later than the due time calendar
// delay d gives a trigger at from in any user's zone. Across fixed
// offsets, the due time falls as the offset grows, until the trigger's
// local date turns: the earliest is that of an offset putting from in
// the last second of a day, or of the eastmost offset. A clock change
// between the trigger and the due time brings it forward by its jump.
func earliestCalendarDue(d rule.Delay, from time.Time) time.Time {
	const day = 24 * 60 * 60
	last := day - 1 - (from.Unix()%day+day)%day // an offset putting from at 23:59:59
	earliest := d.DueAt(from, time.FixedZone("", eastmostOffset))
	for _, off := range [2]int64{last, last - day} {
		if off < westmostOffset || off > eastmostOffset {
			continue
		}
		if due := d.DueAt(from, time.FixedZone("", int(off))); due.Before(earliest) {
			earliest = due
		}
	}
	return earliest.Add(-maxClockJump)
}
