package event_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/stretchr/testify/require"
)

// Poison values: text, numbers and times some store cannot keep exactly.
// The postgres tests push the same values through PostgreSQL.
var (
	poisonText = map[string]string{
		"NUL byte":                       "a\x00b",
		"only a NUL byte":                "\x00",
		"invalid UTF-8 byte":             "a\xffb",
		"truncated UTF-8 sequence":       "caf\xc3",
		"UTF-8-encoded surrogate":        "\xed\xa0\x80",
		"overlong encoding of NUL":       "\xc0\x80",
		"NUL after valid UTF-8":          "café\x00",
		"invalid UTF-8 after a NUL-free": "ünïcode\xfe",
	}
	poisonNumbers = []string{
		"NaN", "Inf", "-Inf", "+Inf", "Infinity", "1e", "1e+", "0x10", "--1", "1_000", "", " 1", "1 ",
		"+1", "01", "-", ".5", "1.", "1.e5", "0x1p4", "1e131072", "10e131071", "1e-16384", "0e-16384",
		"0.0000000000001e-16371", "1e1073741823", "0e-99999999999999999999",
	}
)

func base() event.Event {
	return event.Event{ID: "ev-1", UserID: "u", Kind: event.EmailAliasClicked, CampaignID: "c", Target: "cta",
		Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// TestValidateRejectsWhatStoresCannotHold: every value some store cannot
// keep exactly is rejected by Validate with a ValidationError naming its
// field and wrapping ErrUnstorable (or ErrTooLarge for long identifiers).
func TestValidateRejectsWhatStoresCannotHold(t *testing.T) {
	type tc struct {
		name     string
		ev       event.Event
		field    string
		sentinel error
	}
	var cases []tc
	for what, s := range poisonText {
		for _, f := range []struct {
			field string
			set   func(*event.Event)
		}{
			{"id", func(e *event.Event) { e.ID = s }},
			{"user_id", func(e *event.Event) { e.UserID = s }},
			{"campaign_id", func(e *event.Event) { e.CampaignID = s }},
			{"target", func(e *event.Event) { e.Target = s }},
			{"properties.note", func(e *event.Event) { e.Properties = map[string]any{"note": s} }},
			{"properties.tags[1]", func(e *event.Event) { e.Properties = map[string]any{"tags": []any{"ok", s}} }},
			{"properties.a.b[0]", func(e *event.Event) { e.Properties = map[string]any{"a": map[string]any{"b": []any{s}}} }},
			{"properties", func(e *event.Event) { e.Properties = map[string]any{s: 1} }},
			{"properties.a", func(e *event.Event) { e.Properties = map[string]any{"a": map[string]any{s: 1}} }},
		} {
			ev := base()
			f.set(&ev)
			cases = append(cases, tc{f.field + " " + what, ev, f.field, event.ErrUnstorable})
		}
		ev := event.Event{UserID: "u", Kind: event.CustomEvent, Name: s}
		cases = append(cases, tc{"name " + what, ev, "name", event.ErrUnstorable})
	}
	for _, n := range poisonNumbers {
		ev := base()
		ev.Properties = map[string]any{"n": json.Number(n)}
		cases = append(cases, tc{"json.Number " + n, ev, "properties.n", event.ErrUnstorable})
		ev = base()
		ev.Properties = map[string]any{"list": []any{1, map[string]any{"n": json.Number(n)}}}
		cases = append(cases, tc{"nested json.Number " + n, ev, "properties.list[1].n", event.ErrUnstorable})
	}
	for _, f := range []any{math.NaN(), math.Inf(1), math.Inf(-1), float32(math.NaN()), float32(math.Inf(1))} {
		ev := base()
		ev.Properties = map[string]any{"f": []any{f}}
		cases = append(cases, tc{fmt.Sprintf("%T %v", f, f), ev, "properties.f[0]", event.ErrUnstorable})
	}
	for name, tm := range map[string]time.Time{
		"time in the year 9000":            time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC),
		"time after the year 9999":         time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		"time before the year 1":           time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC),
		"time in a zone 24 hours ahead":    time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 24*3600)),
		"time in a zone 24 hours behind":   time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("x", -24*3600)),
		"time in a zone offset by seconds": time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("LMT", 3630)),
	} {
		ev := base()
		ev.Time = tm
		cases = append(cases, tc{name, ev, "time", event.ErrUnstorable})
	}
	long := strings.Repeat("x", event.MaxIDBytes+1)
	for field, set := range map[string]func(*event.Event){
		"id":          func(e *event.Event) { e.ID = long },
		"user_id":     func(e *event.Event) { e.UserID = long },
		"campaign_id": func(e *event.Event) { e.CampaignID = long },
		"target":      func(e *event.Event) { e.Target = long },
	} {
		ev := base()
		set(&ev)
		cases = append(cases, tc{field + " over MaxIDBytes", ev, field, event.ErrTooLarge})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.ev.Validate()
			require.Error(t, err)
			var fields []string
			for _, e := range unjoin(err) {
				var ve *event.ValidationError
				require.True(t, errors.As(e, &ve), "%v is a ValidationError", e)
				fields = append(fields, ve.Field)
			}
			require.Equal(t, []string{c.field}, fields, "%v", err)
			require.ErrorIs(t, err, c.sentinel)
			require.NotContains(t, err.Error(), "\x00", "the report quotes no NUL byte")
		})
	}
}

// TestValidateAcceptsWhatStoresHold: the edges of each rule are accepted.
func TestValidateAcceptsWhatStoresHold(t *testing.T) {
	ev := base()
	ev.ID = strings.Repeat("é", event.MaxIDBytes/2)
	ev.UserID = "ünïcødé 🙂 \u2028 \ufeff \uffff"
	ev.Time = time.Date(8999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 23*3600+59*60))
	ev.Properties = map[string]any{
		"emoji": "🙂", "control": "\x01\x1f\x7f", "max": json.Number("9e131071"), "tiny": json.Number("1e-16383"),
		"zero": json.Number("0e400000"), "neg": json.Number("-0.0"), "exp": json.Number("1E+2"),
		"scale": json.Number("1." + strings.Repeat("0", 16383)), "f": math.MaxFloat64, "small": math.SmallestNonzeroFloat64,
		"nested": []any{map[string]any{"ключ": json.Number("-12.5e-3")}},
	}
	require.NoError(t, ev.Validate())
	ev.Time = time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)
	require.NoError(t, ev.Validate(), "just after the zero time")
}

// TestCheckTextWordAtATime: the eight-byte scan finds a NUL byte or a
// non-ASCII byte at every position, and agrees with a byte-by-byte check.
func TestCheckTextWordAtATime(t *testing.T) {
	for n := 0; n <= 24; n++ {
		for pos := 0; pos < n; pos++ {
			for _, bad := range []byte{0x00, 0x80, 0xff, 0xc3} {
				b := []byte(strings.Repeat("a", n))
				b[pos] = bad
				s := string(b)
				want := !strings.Contains(s, "\x00") && utf8.ValidString(s)
				require.Equal(t, want, event.CheckText(s) == nil, "%q", s)
			}
		}
		require.NoError(t, event.CheckText(strings.Repeat("\x01\x7f", n)))
		require.NoError(t, event.CheckText(strings.Repeat("a", n)+"é"))
	}
}
