package wire

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestText(t *testing.T) {
	tests := []struct {
		raw  string
		want string
		ok   bool
	}{
		{`"newsletter"`, "newsletter", true},
		{` "a\u00e9" `, "aé", true},
		{`42`, "42", true},
		{`-1.5e3`, "-1.5e3", true},
		{`true`, "true", true},
		{`false`, "false", true},
		{`null`, "", false},
		{``, "", false},
		{`{}`, "", false},
		{`["x"]`, "", false},
		{`"unterminated`, "", false},
		{`tru`, "", false},
		{`4x`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, ok := Text(json.RawMessage(tc.raw))
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
	s, ok := String(json.RawMessage(`42`))
	require.False(t, ok, "String takes strings only")
	require.Empty(t, s)
}

func TestUnix(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: "1767603600", want: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)},
		{in: "1767603600.521413", want: time.Date(2026, 1, 5, 9, 0, 0, 521413000, time.UTC)},
		{in: "1767603600.25", want: time.Date(2026, 1, 5, 9, 0, 0, 250000000, time.UTC)},
		{in: "0", want: time.Unix(0, 0).UTC()},
		{in: "-1", err: true},
		{in: "-0.5", err: true},
		{in: "1e308", err: true},
		{in: "NaN", err: true},
		{in: "Inf", err: true},
		{in: "253402300800", err: true},
		{in: "32503679999", want: time.Date(2999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{in: "221845392000", err: true}, // event.MaxTime, the year 9000
		{in: "221845391999.5", want: time.Date(8999, 12, 31, 23, 59, 59, 500000000, time.UTC)},
		{in: "221845391999.9999999", err: true}, // rounds to event.MaxTime
		{in: "221845391999.99999", err: true},   // rounds up to it
		{in: "soon", err: true},
		{in: "", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Unix(tc.in)
			if tc.err {
				require.ErrorIs(t, err, ErrTime)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	got, err := UnixJSON(json.RawMessage(`"1767603600"`))
	require.NoError(t, err, "numbers in strings are read too")
	require.Equal(t, int64(1767603600), got.Unix())
	_, err = UnixJSON(json.RawMessage(`{}`))
	require.ErrorIs(t, err, ErrTime)
}

func TestRFC3339(t *testing.T) {
	got, err := RFC3339("2019-11-05T16:33:54.9070259Z")
	require.NoError(t, err)
	require.Equal(t, time.Date(2019, 11, 5, 16, 33, 54, 907025900, time.UTC), got)
	got, err = RFC3339("2026-01-07T09:01:00-05:00")
	require.NoError(t, err)
	require.Equal(t, time.UTC, got.Location())
	require.Equal(t, 14, got.Hour())
	for _, bad := range []string{"", "07/01/2026", "2026-01-07", "9000-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00",
		"0000-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00"} {
		_, err := RFC3339(bad)
		require.ErrorIs(t, err, ErrTime, bad)
	}
}

func TestURLProperty(t *testing.T) {
	require.Equal(t, map[string]any{"url": "https://x.example/"}, URLProperty("https://x.example/"))
	require.Nil(t, URLProperty(""))
	long := "https://x.example/?q=" + strings.Repeat("x", MaxURLLength)
	require.Nil(t, URLProperty(long), "over the limit: left out")
	require.NotNil(t, URLProperty(long[:MaxURLLength]))
	require.Nil(t, URLProperty("https://x.example/?q=\x00"), "a NUL byte: left out")
	require.Nil(t, URLProperty("https://x.example/?q=\xff"), "invalid UTF-8: left out")
	require.NotNil(t, URLProperty("https://x.example/?q=ünï"))
}

func TestObject(t *testing.T) {
	m, err := Object([]byte(`{"a":1}`))
	require.NoError(t, err)
	require.Equal(t, json.RawMessage(`1`), m["a"])
	for _, bad := range []string{`null`, `[]`, `"x"`, ``, `{`} {
		_, err := Object([]byte(bad))
		require.Error(t, err, bad)
	}
}

func TestUTF8(t *testing.T) {
	tests := []struct {
		raw string
		ok  bool
	}{
		{`{"user_id":"ann"}`, true},
		{`{"user_id":"ann\u00e9 \ud83d\ude00 \uD83D\uDE00"}`, true}, // é and a pair, in either case
		{`{"user_id":"ann\\ud800"}`, true},                          // a backslash, then text
		{`{"user_id":"a\"\\\u0041"}`, true},
		{`{"k\ud800":1}`, false},
		{`{"user_id":"ann` + "\xff" + `"}`, false},
		{`{"user_id":"ann\ud800"}`, false},    // high surrogate alone
		{`{"user_id":"ann\udc00x"}`, false},   // low surrogate alone
		{`{"user_id":"\ud800\u0041"}`, false}, // high, then no low
		{`{"user_id":"\ud800\ud800"}`, false}, // high, then high
		{`{"user_id":"\\\ud800"}`, false},     // an escaped backslash, then the escape
	}
	for _, tc := range tests {
		err := UTF8([]byte(tc.raw))
		if tc.ok {
			require.NoError(t, err, tc.raw)
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(tc.raw), &m))
			for k, v := range m {
				s, _ := v.(string)
				require.NotContains(t, k+s, "\uFFFD", "%s decodes without replacement", tc.raw)
			}
		} else {
			require.ErrorIs(t, err, ErrUTF8, tc.raw)
		}
	}
}

func TestFields(t *testing.T) {
	m, err := Object([]byte(`{"id":"a","user_id":"ann\ud800","agent":"` + "\xff" + `"}`))
	require.NoError(t, err)
	require.NoError(t, Fields(m, "id", "absent"))
	err = Fields(m, "id", "user_id", "agent")
	require.ErrorIs(t, err, ErrUTF8)
	require.ErrorContains(t, err, `"user_id"`)
}
