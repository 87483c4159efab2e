package rule

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

// PendingPolicy says what a trigger does while the user already waits for
// the follow-up. By default a user waits for at most one delivery of a
// follow-up at a time.
type PendingPolicy string

// The pending policies. The zero value is KeepFirst.
const (
	// KeepFirst: further triggers are suppressed (already_pending).
	KeepFirst PendingPolicy = ""
	// ReplaceWithLatest: the waiting delivery is cancelled (replaced) and
	// a new one scheduled from the latest trigger, by event time: a
	// trigger older than the waiting delivery's, reported late, is
	// suppressed (already_pending).
	ReplaceWithLatest PendingPolicy = "replace_with_latest"
	// AllowParallel: every trigger schedules its own delivery.
	AllowParallel PendingPolicy = "allow_parallel"
)

// Valid reports whether p is one of the three policies.
func (p PendingPolicy) Valid() bool {
	return p == KeepFirst || p == ReplaceWithLatest || p == AllowParallel
}

// TimeOfDay is a wall-clock time of day, in minutes after midnight
// (0–1439). [At] builds one.
type TimeOfDay int

// Clock is the former name of [TimeOfDay].
//
// Deprecated: use TimeOfDay.
type Clock = TimeOfDay

// At returns the time of day hour:minute.
//
// An hour outside 0–23 or a minute outside 0–59 gives an invalid
// TimeOfDay (-1, which [TimeOfDay.Valid] and validation refuse) rather
// than carrying over: At(8, 60) is not 09:00, and huge values do not wrap
// around into some valid time.
func At(hour, minute int) TimeOfDay {
	if hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		return -1
	}
	return TimeOfDay(hour*60 + minute)
}

// Valid reports whether t is a time of day.
func (t TimeOfDay) Valid() bool { return t >= 0 && t < 24*60 }

// String formats t as "HH:MM", or "TimeOfDay(n)" when t is not a time of
// day.
func (t TimeOfDay) String() string {
	if !t.Valid() {
		return fmt.Sprintf("TimeOfDay(%d)", int(t))
	}
	return fmt.Sprintf("%02d:%02d", int(t)/60, int(t)%60)
}

// MarshalText implements [encoding.TextMarshaler]: "HH:MM". A value that
// is not a time of day is an error: no "HH:MM" reads back as it.
func (t TimeOfDay) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("rule: %d is not a time of day (0 to 1439 minutes after midnight)", int(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]: "HH:MM". Its
// errors read as [TimeOfDay.UnmarshalJSON]'s.
func (t *TimeOfDay) UnmarshalText(b []byte) error {
	h, m, err := parseTimeOfDay(string(b))
	if err != nil {
		return withSentinel(&decodeError{path: "time_of_day", msg: err.Error(), err: err}, "time_of_day", nil)
	}
	*t = At(h, m)
	return nil
}

// UnmarshalJSON implements [json.Unmarshaler]: a string "HH:MM"; null
// leaves t as it is. Its errors start with "rule: time_of_day: ", as
// those of the other rule types decoded alone start with their names:
// `rule: time_of_day: "9h" is not HH:MM`, `rule: time_of_day: want a
// time of day such as "09:00", got a number`. Inside a [SendWindow] they
// name the bound instead (`rule: send_window: from: …`).
func (t *TimeOfDay) UnmarshalJSON(b []byte) error {
	return withSentinel(decodeTimeOfDay(b, "time_of_day", t), "time_of_day", nil)
}

// decodeTimeOfDay decodes JSON b, a string "HH:MM", into t, its errors
// placed at what ("time_of_day", "send_window: from"); null leaves t as
// it is.
func decodeTimeOfDay(b []byte, what string, t *TimeOfDay) error {
	if isNull(b) {
		return nil
	}
	var s string
	if err := decode(b, &s, what, timeOfDayShape, nil); err != nil {
		return err
	}
	h, m, err := parseTimeOfDay(s)
	if err != nil {
		return &decodeError{path: what, msg: err.Error(), err: err}
	}
	*t = At(h, m)
	return nil
}

// SendWindow restricts a follow-up's deliveries to wall-clock hours of the
// user's time zone, optionally on given weekdays. The window is
// [From, To): From inclusive, To exclusive; To before From spans midnight
// (22:00–06:00), To equal to From is the whole day. Days, when set, are the
// weekdays on which a window opens (an overnight window opened on Friday
// ends on Saturday morning). In JSON they are names [ParseWeekday]
// accepts: full English names or their first three letters, in any case
// ("monday", "Mon"); encoding writes full names in lower case.
//
// When the trigger is processed, a due time outside the window (for a
// due time already past, due at once: the time it is processed) is not
// scheduled (suppressed, outside_send_window) unless NextAvailable is set:
// then it moves to the next window opening. When the delivery is about to
// be sent (retries and deferrals move it), a send time outside the window
// drops it, or with NextAvailable defers it to the next opening. Missing a
// window never counts as a receipt.
type SendWindow struct {
	From          TimeOfDay      `json:"from"`
	To            TimeOfDay      `json:"to"`
	Days          []time.Weekday `json:"-"`
	NextAvailable bool           `json:"next_available,omitempty"`
}

// IsZero reports whether w is unset (no window).
func (w *SendWindow) IsZero() bool { return w == nil }

// Contains reports whether instant t falls inside the window, in loc.
func (w *SendWindow) Contains(t time.Time, loc *time.Location) bool {
	if w == nil {
		return true
	}
	local := t.In(loc)
	now := TimeOfDay(local.Hour()*60 + local.Minute())
	switch {
	case w.From == w.To:
		return w.opensOn(local.Weekday())
	case w.From < w.To:
		return now >= w.From && now < w.To && w.opensOn(local.Weekday())
	case now >= w.From: // overnight window, evening part
		return w.opensOn(local.Weekday())
	case now < w.To: // overnight window, morning part: opened the day before
		return w.opensOn((local.Weekday() + 6) % 7)
	}
	return false
}

func (w *SendWindow) opensOn(d time.Weekday) bool {
	return len(w.Days) == 0 || slices.Contains(w.Days, d)
}

// Next returns the first instant at or after t inside the window, in loc.
// It looks ahead at most 15 days (any window with days opens within a
// week, or the week after when the clocks skip its opening) and returns t
// itself if t is inside. An opening the clocks skip moves
// forward to the instant of the change (as [WallTime]); on a night the
// clocks go back, an opening in the repeated hour comes twice: asked
// between the two, Next returns the second; and a change that sets the
// clocks back into the window opens it at the change.
func (w *SendWindow) Next(t time.Time, loc *time.Location) time.Time {
	if w == nil || w.Contains(t, loc) {
		return t
	}
	local := t.In(loc)
	y, m, d := local.Date()
	midnight := WallTime(y, m, d, 0, 0, loc)
	var buf [4]time.Time
	// Two weeks: a weekly opening the clocks skip comes back the week after.
	for i := 0; i <= 15; i++ {
		next := WallTime(y, m, d+i+1, 0, 0, loc)
		opens := appendWallTimes(buf[:0], y, m, d+i, int(w.From)/60, int(w.From)%60, loc)
		if w.From == w.To { // the whole day, on its days: it opens at midnight
			opens = append(opens, midnight)
		}
		// A change of the clocks that sets them back into the window opens
		// it without the wall clock reading From.
		if _, change := midnight.ZoneBounds(); !change.IsZero() && change.Before(next) {
			opens = append(opens, change)
		}
		slices.SortFunc(opens, time.Time.Compare)
		for _, open := range opens {
			if !open.Before(t) && w.Contains(open, loc) {
				return open
			}
		}
		midnight = next
	}
	return t // unreachable for a valid window
}

// notTimeOfDay says why t is not a time of day.
func notTimeOfDay(t TimeOfDay) string {
	if t == -1 {
		return "-1 is not a time of day (At gives it for an hour outside 0–23 or a minute outside 0–59)"
	}
	return fmt.Sprintf("%d is not a time of day (0 to 1439 minutes after midnight)", int(t))
}

// Validate reports an invalid window as [*ValidationError] values joined
// with errors.Join, or nil: a From or To that is not a time of day, a day
// that is not a weekday. A nil window is valid.
func (w *SendWindow) Validate() error {
	if w == nil {
		return nil
	}
	p := event.Problems{Object: "send_window"}
	if !w.From.Valid() {
		p.Add("from", notTimeOfDay(w.From), nil)
	}
	if !w.To.Valid() {
		p.Add("to", notTimeOfDay(w.To), nil)
	}
	for i, d := range w.Days {
		if d < time.Sunday || d > time.Saturday {
			p.Add(fmt.Sprintf("days[%d]", i), fmt.Sprintf("%d is not a weekday", d), nil)
		}
	}
	return p.Err()
}

// String describes the window: "09:00–17:00 on monday, friday", or
// "all day" (followed by its days, when set) for a window whose To equals
// its From, whatever the time both name: such a window is open the whole
// day, and "00:00–00:00" would read as one that never opens.
func (w *SendWindow) String() string {
	if w == nil {
		return "any time"
	}
	s := w.From.String() + "–" + w.To.String()
	if w.From == w.To && w.From.Valid() {
		s = "all day"
	}
	if len(w.Days) > 0 {
		names := make([]string, len(w.Days))
		for i, d := range w.Days {
			names[i] = strings.ToLower(d.String())
		}
		s += " on " + strings.Join(names, ", ")
	}
	return s
}

type sendWindowJSON struct {
	From          TimeOfDay `json:"from"`
	To            TimeOfDay `json:"to"`
	Days          []string  `json:"days,omitempty"`
	NextAvailable bool      `json:"next_available,omitempty"`
}

// MarshalJSON implements [json.Marshaler]:
// {"from":"09:00","to":"17:00","days":["monday"],"next_available":true}.
func (w SendWindow) MarshalJSON() ([]byte, error) {
	j := sendWindowJSON{From: w.From, To: w.To, NextAvailable: w.NextAvailable}
	for _, d := range w.Days {
		j.Days = append(j.Days, strings.ToLower(d.String()))
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements [json.Unmarshaler]. "from" and "to" are both
// required: a bound left out is an error, not midnight.
func (w *SendWindow) UnmarshalJSON(b []byte) error {
	// From and To decode on their own, so that an error names its field:
	// encoding/json names none for an UnmarshalText error.
	var j struct {
		sendWindowJSON
		From json.RawMessage `json:"from"`
		To   json.RawMessage `json:"to"`
	}
	if err := decode(b, &j, "send_window", sendWindowShapes, map[string]string{
		"days":   `an array of weekdays such as ["monday","friday"]`,
		"days[]": `a weekday such as "monday"`,
	}); err != nil {
		return withSentinel(err, "send_window", nil)
	}
	out := SendWindow{NextAvailable: j.NextAvailable}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		to   *TimeOfDay
	}{{"from", j.From, &out.From}, {"to", j.To, &out.To}} {
		if f.raw == nil || string(f.raw) == "null" {
			// A bound left out would read as midnight: a window meant
			// to close at 17:00 would stay open until the end of the
			// day. Both are given ("to" equal to "from" is the whole
			// day), as MarshalJSON writes them.
			return decoded(&ValidationError{Object: "send_window", Field: f.name,
				Reason: "missing; want " + sendWindowShapes + ` ("to" equal to "from" is the whole day)`})
		}
		if err := decodeTimeOfDay(f.raw, "send_window: "+f.name, f.to); err != nil {
			return withSentinel(err, "send_window", nil)
		}
	}
	for i, s := range j.Days {
		d, err := ParseWeekday(s)
		if err != nil {
			return decoded(&ValidationError{Object: "send_window", Field: fmt.Sprintf("days[%d]", i), Reason: err.Error()})
		}
		out.Days = append(out.Days, d)
	}
	*w = out
	return nil
}

// Conversion limits.
const (
	// MaxConversions is the most conversions a campaign may declare.
	MaxConversions = 4
	// DefaultConversionWindow is a conversion's window when its Deadline
	// is zero.
	DefaultConversionWindow = 3 * 24 * time.Hour
	// MaxConversionWindow is the longest Deadline accepted.
	MaxConversionWindow = 30 * 24 * time.Hour
)

// Conversion is a conversion event a campaign declares: after a user
// receives the campaign (a host-reported *_received event, or
// in_app_message_viewed / content_card_viewed) or enters its control group,
// the first event matching the conversion within Deadline makes the engine
// emit conversion_performed for the campaign with Target = ID, once per
// receipt. The window is [receipt, receipt+Deadline): an event exactly at
// the deadline is too late. Follow-ups can trigger on the emitted event.
type Conversion struct {
	// ID names the conversion within its campaign (required): the emitted
	// conversion_performed event carries it as its Target.
	ID string `json:"id"`
	// Kind, CampaignID, Target, Name and Where select the conversion
	// event as a [Trigger]'s fields of the same names do.
	Kind       event.Kind  `json:"kind"`
	CampaignID string      `json:"campaign_id,omitempty"`
	Target     string      `json:"target,omitempty"`
	Name       string      `json:"name,omitempty"`
	Where      []Condition `json:"where,omitempty"`
	// Deadline is how long after the receipt the conversion counts, at
	// most MaxConversionWindow; zero: DefaultConversionWindow. In JSON it
	// is "deadline", a Go duration string ("72h").
	Deadline time.Duration `json:"-"`
}

// Window returns the conversion's deadline, defaulted.
func (c Conversion) Window() time.Duration {
	if c.Deadline == 0 {
		return DefaultConversionWindow
	}
	return c.Deadline
}

// Matches reports whether ev is a conversion event of c.
func (c Conversion) Matches(ev *event.Event) bool {
	return matches(c.Kind, c.CampaignID, c.Target, c.Name, c.Where, ev)
}

// Validate reports the conversion's problems as [*ValidationError] values
// joined with errors.Join, or nil: a missing ID, what [Trigger.Validate]
// reports of its selector, and a Deadline outside [0, MaxConversionWindow].
func (c Conversion) Validate() error {
	p := event.Problems{Object: "conversion"}
	if c.ID == "" {
		p.Add("id", "required", nil)
	}
	addText(&p, "id", c.ID)
	p.AddErr("", validateMatcher("conversion", c.Kind, c.CampaignID, c.Target, c.Name, c.Where))
	if c.Deadline < 0 || c.Deadline > MaxConversionWindow {
		p.Add("deadline", fmt.Sprintf("%v is outside [0, %v]", c.Deadline, MaxConversionWindow), nil)
	}
	return p.Err()
}

type conversionJSON struct {
	ID         string          `json:"id"`
	Kind       event.Kind      `json:"kind"`
	CampaignID string          `json:"campaign_id,omitempty"`
	Target     string          `json:"target,omitempty"`
	Name       string          `json:"name,omitempty"`
	Where      []conditionJSON `json:"where,omitempty"`
	Deadline   string          `json:"deadline,omitempty"`
}

// MarshalJSON implements [json.Marshaler]; the deadline is a Go duration
// string, omitted when zero (the default).
func (c Conversion) MarshalJSON() ([]byte, error) {
	j := conversionJSON{ID: c.ID, Kind: c.Kind, CampaignID: c.CampaignID, Target: c.Target, Name: c.Name}
	for _, w := range c.Where {
		j.Where = append(j.Where, conditionJSON(w))
	}
	if c.Deadline != 0 {
		j.Deadline = c.Deadline.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements [json.Unmarshaler] as a campaign decodes its
// conversions: unknown fields, unknown kinds and keys given twice are
// errors, and the deadline is a Go duration string ("72h"). Its errors are
// a [*ValidationError] whose Object is "conversion", or a
// [*DuplicateKeyError]; malformed JSON (which json.Unmarshal reports
// before calling it) is neither. Decoding does not validate: call
// [Conversion.Validate].
func (c *Conversion) UnmarshalJSON(b []byte) error {
	var j conversionJSON
	if err := decode(b, &j, "conversion", conversionShapes, map[string]string{"deadline": durationShape}); err != nil {
		return withSentinel(err, "conversion", nil)
	}
	out := Conversion{ID: j.ID, Kind: j.Kind, CampaignID: j.CampaignID, Target: j.Target, Name: j.Name, Where: conditions(j.Where)}
	if j.Deadline != "" {
		d, err := time.ParseDuration(j.Deadline)
		if err != nil {
			return decoded(&ValidationError{Object: "conversion", Field: "deadline", Reason: err.Error()})
		}
		out.Deadline = d
	}
	*c = out
	return nil
}

// ControlBucket returns the stable bucket, 0–99, of a user for a campaign:
// users whose bucket is below the campaign's ControlPercent are held out.
// The bucket depends only on the two IDs (FNV-1a), so it is the same in
// every engine, process and version.
func ControlBucket(userID, campaignID string) int {
	h := uint64(14695981039346656037)
	for _, s := range [...]string{userID, "\x00", campaignID} {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * 1099511628211
		}
	}
	h ^= h >> 32 // fold the high bits in: FNV's low bits mix poorly
	return int(h % 100)
}
