package rule_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
)

// A time of day is "HH:MM", two digits each: a sign or a space where a
// digit goes ("+9:00", " 9:00", "09:5 ") is refused wherever a time of
// day is read (a delay's "at", a send window's bounds, a TimeOfDay
// alone), rather than read as a time the author may not have meant
// ("09:5 " as 09:05, not 09:50).
func TestTimeOfDayTakesDigitsOnly(t *testing.T) {
	for _, s := range []string{"+9:00", " 9:00", "-0:00", "09:-0", "09:+5", "09:5 ", "0 :30", "\t9:00", "09: 5"} {
		want := fmt.Sprintf("%q is not HH:MM", s)
		q, _ := json.Marshal(s)

		var d rule.Delay
		err := json.Unmarshal([]byte(`{"days":1,"at":`+string(q)+`}`), &d)
		if err == nil || err.Error() != "rule: delay: at: "+want+" (invalid delay)" || !errors.Is(err, rule.ErrInvalidDelay) {
			t.Errorf("delay at %q: err = %v, want %q wrapping ErrInvalidDelay", s, err, want)
		}
		var w rule.SendWindow
		err = json.Unmarshal([]byte(`{"from":`+string(q)+`,"to":"17:00"}`), &w)
		if err == nil || err.Error() != "rule: send_window: from: "+want {
			t.Errorf("send window from %q: err = %v, want %q", s, err, want)
		}
		var tod rule.TimeOfDay
		if err := json.Unmarshal(q, &tod); err == nil || err.Error() != "rule: time_of_day: "+want {
			t.Errorf("time of day %q: err = %v, want %q", s, err, want)
		}
		var c rule.Campaign
		err = json.Unmarshal([]byte(`{"id":"a","delay":{"weekday":"monday","at":`+string(q)+`}}`), &c)
		if err == nil || err.Error() != "rule: campaign: delay: at: "+want+" (invalid delay)" {
			t.Errorf("campaign delay at %q: err = %v", s, err)
		}
	}
	for s, want := range map[string]rule.TimeOfDay{"00:00": rule.At(0, 0), "09:05": rule.At(9, 5), "23:59": rule.At(23, 59)} {
		var tod rule.TimeOfDay
		if err := tod.UnmarshalText([]byte(s)); err != nil || tod != want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", s, tod, err, want)
		}
	}
}

// A delay's field given empty is a field given: {"after":""} is a
// duration that does not parse, as a re-eligibility's is, not an
// immediate send (the author meant some delay and left it blank), and
// {"weekday":""} or {"at":""} is as wrong as any other weekday or time
// missing its partner. null, {} and a null field stay immediate.
func TestDelayFieldGivenEmptyIsNotImmediate(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"after":""}`, `rule: delay: after: time: invalid duration ""; want a duration such as "72h" or "90m" (no days: "168h" is a week) (invalid delay)`},
		{`{"weekday":""}`, `rule: delay: at: "" is not HH:MM (invalid delay)`},
		{`{"weekday":"","at":"09:00"}`, `rule: delay: weekday: "" is not a weekday (invalid delay)`},
		{`{"at":""}`, `rule: delay: at: needs weekday or days (invalid delay)`},
		{`{"after":"","days":1,"at":"09:00"}`, `rule: delay: give one of after, weekday or days (invalid delay)`},
	} {
		d := rule.After(3)
		err := json.Unmarshal([]byte(tc.json), &d)
		if err == nil || err.Error() != tc.want || !errors.Is(err, rule.ErrInvalidDelay) {
			t.Errorf("%s: err = %v, want %q wrapping ErrInvalidDelay", tc.json, err, tc.want)
		}
		var c rule.Campaign
		if err := json.Unmarshal([]byte(`{"id":"a","delay":`+tc.json+`}`), &c); err == nil {
			t.Errorf("campaign with delay %s: decoded, delay %v", tc.json, c.Delay)
		}
	}
	for _, s := range []string{`null`, `{}`, `{"after":null}`, `{"weekday":null,"at":null}`} {
		d := rule.After(3)
		if err := json.Unmarshal([]byte(s), &d); err != nil || !d.IsZero() {
			t.Errorf("%s: %v, %v; want immediately", s, d, err)
		}
	}
	for _, d := range []rule.Delay{rule.After(90 * 60e9), rule.NextWeekdayAt(1, 9, 30), rule.InDaysAt(2, 0, 0), rule.Immediately()} {
		b, err := json.Marshal(d)
		var back rule.Delay
		if err != nil || json.Unmarshal(b, &back) != nil || back != d {
			t.Errorf("%v: marshalled %s (%v), read back %v", d, b, err, back)
		}
	}
}
