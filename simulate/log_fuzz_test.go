package simulate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/simulate"
)

// FuzzReadLog feeds ReadLog any file, as a user editing a log by hand
// might leave it. It returns lines or an error wrapping ErrScript and a
// LineError naming a line of the file, never panics; the lines it returns
// are numbered in order, each a known op or an event, and written back
// with json.Marshal (the log's form: an event's JSON, an operation's op,
// campaign and time) they read as the same lines.
func FuzzReadLog(f *testing.F) {
	for _, s := range []string{
		twoEvents,
		"\ufeff" + strings.ReplaceAll(twoEvents, "\n", "\r\n"),
		`{"op":"publish","campaign":"resend","time":"2026-01-05T10:00:00+01:00"}` + "\n" +
			`{"op":"advance","time":"2026-01-06T00:00:00Z"}` + "\n" +
			`{"op":null,"user_id":"ann","kind":"purchase","name":"sku","properties":{"price":9.99,"n":1e400}}`,
		`{"op":"stop","campaign":"c","time":"2263-01-01T00:00:00Z"}`,
		`{"op":"advance","campaign":"c","time":"2026-01-01T00:00:00Z"}`,
		`{"user_id":"ann","kind":"email_opened","tmie":"2026-01-01T00:00:00Z"}`,
		`{"user_id":"ann","OP":"","op":""}`,
		`{"user_id":"ann\ud800","kind":"session_start"}`,
		`{"user_id":"ann","time":"2026-01-01T00:00:00Z"}`,
		`{"time":"yesterday"}`, "[1]\n", "null", "\xff\xfe{\x00}\x00", "# only a comment\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := simulate.ReadLog(bytes.NewReader(data))
		if err != nil {
			var le *simulate.LineError
			if !errors.Is(err, simulate.ErrScript) || !errors.As(err, &le) {
				t.Fatalf("error %v wraps no ErrScript or no LineError", err)
			}
			// A line ends at LF, CRLF or a lone CR.
			ends := bytes.Count(data, []byte{'\n'}) + bytes.Count(data, []byte{'\r'}) - bytes.Count(data, []byte("\r\n"))
			if le.Line < 1 || le.Line > ends+1 {
				t.Fatalf("error %v names line %d of a file of %d line ends", err, le.Line, ends)
			}
			return
		}
		var out bytes.Buffer
		num := 0
		for _, l := range lines {
			if l.Num <= num {
				t.Fatalf("line numbered %d after %d", l.Num, num)
			}
			num = l.Num
			out.Write(writeLine(t, l))
			out.WriteByte('\n')
		}
		back, err := simulate.ReadLog(&out)
		if err != nil {
			t.Fatalf("the lines read, written back, do not read: %v\n%s", err, out.Bytes())
		}
		if len(back) != len(lines) {
			t.Fatalf("%d lines read back, want %d", len(back), len(lines))
		}
		for i := range lines {
			if !sameLine(lines[i], back[i]) {
				t.Fatalf("line %d read back as\n%#v\nwant\n%#v", i+1, back[i], lines[i])
			}
		}
	})
}

// writeLine writes l with json.Marshal, which writes a Line in the
// log's form (Line.MarshalJSON): every line ReadLog returns has it.
func writeLine(t *testing.T, l simulate.Line) []byte {
	t.Helper()
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatalf("line %d (%#v) has no JSON form: %v", l.Num, l, err)
	}
	return b
}

// sameLine compares two lines but for their numbers, times by instant and
// properties by their JSON.
func sameLine(a, b simulate.Line) bool {
	if a.Op != b.Op || a.Campaign != b.Campaign || !a.Time.Equal(b.Time) || !a.Event.Time.Equal(b.Event.Time) {
		return false
	}
	// No properties and empty ones are the same: the JSON omits both.
	if len(a.Event.Properties) == 0 {
		a.Event.Properties = nil
	}
	if len(b.Event.Properties) == 0 {
		b.Event.Properties = nil
	}
	pa, errA := json.Marshal(a.Event.Properties)
	pb, errB := json.Marshal(b.Event.Properties)
	if errA != nil || errB != nil || !bytes.Equal(pa, pb) {
		return false
	}
	a.Event.Time, b.Event.Time, a.Event.Properties, b.Event.Properties = time.Time{}, time.Time{}, nil, nil
	return reflect.DeepEqual(a.Event, b.Event)
}
