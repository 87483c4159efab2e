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
