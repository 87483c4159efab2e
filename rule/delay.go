package rule

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

// Longest delays accepted: far beyond any campaign, short enough that due
// time arithmetic cannot overflow.
const (
	maxAfter = 10 * 365 * 24 * time.Hour
	maxDays  = 3650
)

type delayKind uint8

const (
	immediate delayKind = iota
	afterDuration
	nextWeekday
	inDays
)

// Delay is a follow-up's schedule delay: how its due time follows from the
// trigger event's time (not its arrival time). The zero value sends immediately.
//
// Calendar delays ([NextWeekdayAt], [InDaysAt]) work on wall-clock dates in
// a location (the user's, else the engine's default). On daylight-saving
// days a wall time that does not exist (the hour skipped in spring) moves
// forward to the first valid instant, the moment of the change; a wall time
// that occurs twice (the hour repeated in autumn) uses its first
// occurrence. Both rules are deterministic.
type Delay struct {
	kind    delayKind
	after   time.Duration
	weekday time.Weekday
	days    int
	hour    int
	minute  int
}

// Immediately returns the zero Delay: the follow-up is due at the trigger
// event's time.
func Immediately() Delay { return Delay{} }

// After returns a delay of exactly d elapsed time after the trigger (one day
// is 24 hours, whatever the calendar says). After(0) is [Immediately].
func After(d time.Duration) Delay {
	if d == 0 {
		return Delay{}
	}
	return Delay{kind: afterDuration, after: d}
}

// NextWeekdayAt returns a delay to the next given weekday at hour:minute
// wall-clock time, strictly after the trigger's calendar date: a trigger on
// that weekday goes to the following week, whatever its time of day.
func NextWeekdayAt(day time.Weekday, hour, minute int) Delay {
	return Delay{kind: nextWeekday, weekday: day, hour: hour, minute: minute}
}

// InDaysAt returns a delay to hour:minute wall-clock time on the trigger's
// calendar date plus days. InDaysAt(0, …) is the same day; if that time has
// already passed the delivery is due at once (and the decision says late).
func InDaysAt(days, hour, minute int) Delay {
	return Delay{kind: inDays, days: days, hour: hour, minute: minute}
}

// IsZero reports whether d sends immediately.
func (d Delay) IsZero() bool { return d.kind == immediate }

// IsCalendar reports whether d depends on a location (weekday or day delays).
func (d Delay) IsCalendar() bool { return d.kind == nextWeekday || d.kind == inDays }

// Duration returns the elapsed time of an [After] delay, or 0.
func (d Delay) Duration() time.Duration { return d.after }

// Validate reports an out-of-range delay as a [*ValidationError].
func (d Delay) Validate() error {
	p := event.Problems{Object: "delay"}
	switch d.kind {
	case immediate:
	case afterDuration:
		if d.after < 0 || d.after > maxAfter {
			p.Add("after", fmt.Sprintf("%v is outside [0, %v]", d.after, maxAfter), ErrInvalidDelay)
		}
	case nextWeekday, inDays:
		if d.kind == nextWeekday && (d.weekday < time.Sunday || d.weekday > time.Saturday) {
			p.Add("weekday", fmt.Sprintf("%d is not a weekday", d.weekday), ErrInvalidDelay)
		}
		if d.kind == inDays && (d.days < 0 || d.days > maxDays) {
			p.Add("days", fmt.Sprintf("%d is outside [0, %d]", d.days, maxDays), ErrInvalidDelay)
		}
		if d.hour < 0 || d.hour > 23 || d.minute < 0 || d.minute > 59 {
			p.Add("at", fmt.Sprintf("%02d:%02d is not a time of day", d.hour, d.minute), ErrInvalidDelay)
		}
	default:
		p.Add("", "unknown delay kind", ErrInvalidDelay)
	}
	return p.Err()
}

// DueAt returns when a delivery triggered at trigger is due. loc is used by
// calendar delays only; nil means UTC. The result may be before trigger's
// arrival (a backdated trigger): the engine then sends at once.
func (d Delay) DueAt(trigger time.Time, loc *time.Location) time.Time {
	switch d.kind {
	case afterDuration:
		return trigger.Add(d.after)
	case nextWeekday, inDays:
		if loc == nil {
			loc = time.UTC
		}
		local := trigger.In(loc)
		y, m, day := local.Date()
		add := d.days
		if d.kind == nextWeekday {
			add = (int(d.weekday)-int(local.Weekday())+6)%7 + 1 // 1..7, never 0
		}
		return WallTime(y, m, day+add, d.hour, d.minute, loc)
	default:
		return trigger
	}
}

// WallTime returns the instant that wall-clock time y-m-d h:min has in loc,
// resolving daylight-saving changes like [Delay] documents: a skipped wall
// time moves forward to the instant of the change, a repeated one takes its
// first occurrence. Out-of-range days normalize as in [time.Date].
func WallTime(y int, m time.Month, d, h, min int, loc *time.Location) time.Time {
	var buf [2]time.Time
	return appendWallTimes(buf[:0], y, m, d, h, min, loc)[0]
}

// appendWallTimes appends to dst the instants wall-clock time y-m-d h:min
// has in loc, earliest first: both occurrences of a repeated wall time,
// the instant of the change for a skipped one, otherwise the one.
func appendWallTimes(dst []time.Time, y int, m time.Month, d, h, min int, loc *time.Location) []time.Time {
	naive := time.Date(y, m, d, h, min, 0, 0, time.UTC)
	want := naive.Unix() // seconds of the wall time read as UTC
	// The offsets in force a day before and after cover any single change.
	_, offBefore := naive.Add(-26 * time.Hour).In(loc).Zone()
	_, offAfter := naive.Add(26 * time.Hour).In(loc).Zone()
	n := len(dst)
	for _, off := range [2]int{offBefore, offAfter} {
		t := time.Unix(want-int64(off), 0).In(loc)
		if _, o := t.Zone(); o == off && (len(dst) == n || !t.Equal(dst[n])) {
			dst = append(dst, t)
		}
	}
	switch len(dst) - n {
	case 2:
		if dst[n+1].Before(dst[n]) {
			dst[n], dst[n+1] = dst[n+1], dst[n]
		}
	case 0:
		// The wall time falls in a gap: the instant read with the earlier
		// offset lies after the change; the zone that begins there begins
		// at the change.
		t := time.Unix(want-int64(offBefore), 0).In(loc)
		if start, _ := t.ZoneBounds(); !start.IsZero() {
			t = start
		}
		dst = append(dst, t)
	}
	return dst
}

// String describes the delay: "immediately", "after 168h0m0s",
// "next monday at 09:00", "in 2 days at 09:00".
func (d Delay) String() string {
	switch d.kind {
	case afterDuration:
		return "after " + d.after.String()
	case nextWeekday:
		return fmt.Sprintf("next %s at %02d:%02d", strings.ToLower(d.weekday.String()), d.hour, d.minute)
	case inDays:
		unit := "days"
		if d.days == 1 {
			unit = "day"
		}
		return fmt.Sprintf("in %d %s at %02d:%02d", d.days, unit, d.hour, d.minute)
	default:
		return "immediately"
	}
}

// delayJSON is the wire form: {"after":"168h0m0s"},
// {"weekday":"monday","at":"09:00"} or {"days":2,"at":"09:00"}. A field
// given empty ("after":"") is given, and must then parse: only a field
// left out (or null) is not.
type delayJSON struct {
	After   *string `json:"after,omitempty"`
	Weekday *string `json:"weekday,omitempty"`
	Days    *int    `json:"days,omitempty"`
	At      *string `json:"at,omitempty"`
}

// delayFields say what delayJSON's fields want.
var delayFields = map[string]string{
	"after":   durationShape,
	"weekday": `a weekday such as "monday"`,
	"days":    "a whole number of days such as 2",
	"at":      timeOfDayShape,
}

// MarshalJSON implements [json.Marshaler]. The zero Delay encodes as null.
func (d Delay) MarshalJSON() ([]byte, error) {
	var w delayJSON
	switch d.kind {
	case immediate:
		return []byte("null"), nil
	case afterDuration:
		w.After = ptr(d.after.String())
	case nextWeekday:
		w.Weekday = ptr(strings.ToLower(d.weekday.String()))
		w.At = ptr(fmt.Sprintf("%02d:%02d", d.hour, d.minute))
	case inDays:
		w.Days = ptr(d.days)
		w.At = ptr(fmt.Sprintf("%02d:%02d", d.hour, d.minute))
	}
	return json.Marshal(w)
}

// UnmarshalJSON implements [json.Unmarshaler]. null or {} is immediate; a
// field given empty ({"after":""}) is an error, not immediate.
// Exactly one of after, weekday or days may be given; weekday and days need
// at ("HH:MM"); a weekday is a name [ParseWeekday] accepts ("monday",
// "Mon"). Its errors wrap [ErrInvalidDelay] (see there). The result
// is not range-checked: call [Delay.Validate].
func (d *Delay) UnmarshalJSON(b []byte) error {
	var w delayJSON
	if err := decode(b, &w, "delay", delayShapes, delayFields); err != nil {
		return withSentinel(err, "delay", ErrInvalidDelay)
	}
	set := 0
	for _, given := range []bool{w.After != nil, w.Weekday != nil, w.Days != nil} {
		if given {
			set++
		}
	}
	if set > 1 {
		return decoded(&ValidationError{Object: "delay", Reason: "give one of after, weekday or days", Err: ErrInvalidDelay})
	}
	switch {
	case w.After != nil:
		dur, err := time.ParseDuration(*w.After)
		if err != nil {
			return decoded(&ValidationError{Object: "delay", Field: "after", Reason: err.Error() + "; want " + durationShape + " (no days: " + `"168h" is a week)`, Err: ErrInvalidDelay})
		}
		*d = After(dur)
	case w.Weekday != nil || w.Days != nil:
		h, m, err := parseTimeOfDay(deref(w.At))
		if err != nil {
			return decoded(&ValidationError{Object: "delay", Field: "at", Reason: err.Error(), Err: ErrInvalidDelay})
		}
		if w.Days != nil {
			*d = InDaysAt(*w.Days, h, m)
			return nil
		}
		wd, err := ParseWeekday(*w.Weekday)
		if err != nil {
			return decoded(&ValidationError{Object: "delay", Field: "weekday", Reason: err.Error(), Err: ErrInvalidDelay})
		}
		*d = NextWeekdayAt(wd, h, m)
	default:
		if w.At != nil {
			return decoded(&ValidationError{Object: "delay", Field: "at", Reason: "needs weekday or days", Err: ErrInvalidDelay})
		}
		*d = Delay{}
	}
	return nil
}

// ParseWeekday parses a weekday as a definition names it: its English
// name, in full or its first three letters, in any case ("monday",
// "Monday", "MONDAY", "mon", "Mon", "MON"; "thu" and "thursday"). Any
// other length is refused ("mo", "mond", "tues", "thur"), as are spaces
// around the name and other languages. Case is compared as
// [strings.ToLower] folds it, so a dotted capital İ reads as i ("FRİDAY").
// JSON written by this package always holds full names in lower case.
func ParseWeekday(s string) (time.Weekday, error) {
	l := strings.ToLower(s)
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		name := strings.ToLower(wd.String())
		if l == name || (len(l) == 3 && strings.HasPrefix(name, l)) {
			return wd, nil
		}
	}
	return 0, fmt.Errorf("%q is not a weekday", s)
}

// parseTimeOfDay parses "HH:MM" (24-hour clock): two digits each, no
// sign or space ("+9:00", "09:5 " are not times of day).
func parseTimeOfDay(s string) (hour, minute int, err error) {
	if len(s) != 5 || s[2] != ':' || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[3]) || !isDigit(s[4]) {
		return 0, 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hour, minute = int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if hour > 23 || minute > 59 {
		return 0, 0, fmt.Errorf("%q is not a time of day", s)
	}
	return hour, minute, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// deref returns *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
