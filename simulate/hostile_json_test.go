package simulate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/simulate"
)

// A log line that names a field twice is refused whether the two keys
// are written alike or differ in case: which one counts would otherwise
// be left to the order of decoding (encoding/json keeps the last), so
// that {"op":"advance","op":"publish"} published and an event's second
// "time" silently replaced its first.
func TestReadLogRefusesAKeyGivenTwice(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`{"op":"publish","campaign":"a","campaign":"b"}`, `field "campaign" is given twice`},
		{`{"op":"advance","op":"publish","campaign":"a"}`, `field "op" is given twice`},
		{`{"op":"advance","time":"2026-01-05T09:00:00Z","time":"2027-01-05T09:00:00Z"}`, `field "time" is given twice`},
		{`{"user_id":"u","kind":"custom_event","name":"n","user_id":"v"}`, `field "user_id" is given twice`},
		{`{"user_id":"u","kind":"custom_event","name":"n","time":"2026-01-05T09:00:00Z","time":"2030-01-05T09:00:00Z"}`, `field "time" is given twice`},
		{`{"user_id":"u","kind":"custom_event","name":"n","extra":1,"extra":2}`, `field "extra" is given twice`},
		{`{"op":"publish","campaign":"a","Campaign":"b"}`, `fields "Campaign" and "campaign" are the same field (names match without regard to case)`},
	} {
		text := "# a comment\n" + tc.line + "\n"
		ls, err := simulate.ReadLog(strings.NewReader(text))
		var le *simulate.LineError
		if !errors.Is(err, simulate.ErrScript) || !errors.As(err, &le) || le.Line != 2 || le.Err.Error() != tc.want {
			t.Errorf("%s: ReadLog = %+v, %v; want line 2: %s", tc.line, ls, err, tc.want)
		}
	}
	// Keys alike inside a value (properties, nested objects) are the
	// event's business, not the line's.
	ls, err := simulate.ReadLog(strings.NewReader(`{"user_id":"u","kind":"custom_event","name":"n","properties":{"a":{"x":1},"b":{"x":2}}}`))
	if err != nil || len(ls) != 1 || ls[0].Event.UserID != "u" {
		t.Errorf("ReadLog of a line with the same key in two nested objects = %+v, %v", ls, err)
	}
}

// A setup that sets one of its fields twice is refused, saying where the
// second key is (its opening quote), rather than keeping the last: a second "campaigns" list
// (two files pasted together) silently dropped every campaign of the
// first. The campaigns' own keys were already checked by their decoding.
func TestReadSetupRefusesAKeyGivenTwice(t *testing.T) {
	for _, tc := range []struct {
		setup     string
		line, col int
		want      string
	}{
		{"{\"start\":\"2026-01-05T09:00:00Z\",\n \"campaigns\":[{\"id\":\"a\"}],\n \"campaigns\":[{\"id\":\"b\"}]}", 3, 2,
			`duplicate key "campaigns"`},
		{`{"start":"2026-01-05T09:00:00Z","start":"2027-01-05T09:00:00Z"}`, 1, 33, `duplicate key "start"`},
		{`{"start":"2026-01-05T09:00:00Z","publish":["a"],"Publish":[]}`, 1, 49, `duplicate key "Publish" (the same field as "publish")`},
		{"\ufeff{\"location\":\"UTC\",\"start\":\"2026-01-05T09:00:00Z\",\"location\":\"Europe/Paris\"}", 1, 50, `duplicate key "location"`},
	} {
		s, err := simulate.ReadSetup(strings.NewReader(tc.setup))
		var le *simulate.LineError
		if !errors.Is(err, simulate.ErrScript) || !errors.As(err, &le) || le.Line != tc.line || le.Column != tc.col || le.Err.Error() != tc.want {
			t.Errorf("%s: ReadSetup = %+v, %v (%+v); want line %d, column %d: %s", tc.setup, s, err, le, tc.line, tc.col, tc.want)
		}
	}
	s, err := simulate.ReadSetup(strings.NewReader(`{"start":"2026-01-05T09:00:00Z","campaigns":[{"id":"a","message":{"k":1}},{"id":"b","message":{"k":2}}]}`))
	if err != nil || len(s.Campaigns) != 2 {
		t.Errorf("ReadSetup of two campaigns with the same keys = %+v, %v", s, err)
	}
}
