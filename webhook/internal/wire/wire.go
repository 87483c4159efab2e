// Package wire holds the decoding helpers the provider parsers share:
// lenient reading of JSON scalars and of Unix timestamps.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/nilval"
	"github.com/campaignconnector/campaignconnector/webhook"
)

// ErrTime reports a timestamp that cannot be read or is out of range.
var ErrTime = errors.New("unreadable timestamp")

// ErrUTF8 reports JSON text that is not valid Unicode: bytes that are not
// UTF-8, or a \u escape of half a surrogate pair. encoding/json reads
// either as U+FFFD, so that the ids of an item would change without a
// word (a user id "ann\xff" or "ann\ud800" read as "ann\uFFFD", another
// user).
var ErrUTF8 = errors.New("not valid UTF-8")

// UTF8 returns [ErrUTF8] when raw, valid JSON, is not valid UTF-8 or
// escapes half a surrogate pair, and nil otherwise.
func UTF8(raw []byte) error {
	if !utf8.Valid(raw) || loneSurrogate(raw) {
		return ErrUTF8
	}
	return nil
}

// Fields returns an error wrapping [ErrUTF8] that names the first of keys
// whose value in m is not valid UTF-8 or escapes half a surrogate pair,
// and nil when none is. Only the values an event is built from are
// checked: text elsewhere in an item (a user agent, an SMTP response)
// changes no event when encoding/json replaces it.
func Fields(m map[string]json.RawMessage, keys ...string) error {
	for _, k := range keys {
		if err := UTF8(m[k]); err != nil {
			return fmt.Errorf("%q: %w", k, err)
		}
	}
	return nil
}

// loneSurrogate reports whether a string of raw, valid JSON, holds a \u
// escape of a high surrogate not followed by one of a low surrogate, or of
// a low surrogate alone.
func loneSurrogate(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"':
			inString = !inString
		case c != '\\' || !inString:
		case i+1 < len(raw) && raw[i+1] != 'u':
			i++ // a two-byte escape
		default:
			r := escaped(raw[i:])
			i += 5
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return true
			case r >= 0xD800 && r <= 0xDBFF:
				if low := escaped(raw[i+1:]); low < 0xDC00 || low > 0xDFFF {
					return true
				}
				i += 6
			}
		}
	}
	return false
}

// escaped returns the code unit of the \uXXXX escape b starts with, or -1.
func escaped(b []byte) int {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	n, err := strconv.ParseUint(string(b[2:6]), 16, 16)
	if err != nil {
		return -1
	}
	return int(n)
}

// Object decodes raw as a JSON object, keeping its values raw.
func Object(raw []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil { // the literal null
		return nil, errors.New("null, not an object")
	}
	return m, nil
}

// Text returns the text of a JSON string, or the literal of a JSON number
// or boolean; ok is false for anything else (absent, null, objects,
// arrays, malformed).
func Text(raw json.RawMessage) (s string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return "", false
		}
		return strconv.FormatBool(b), true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", false
		}
		return n.String(), true
	}
	return "", false
}

// String decodes a JSON string; ok is false for any other value.
func String(raw json.RawMessage) (s string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// maxUnix bounds accepted timestamps: the last second before
// event.MaxTime, past which the engine rejects events (and no provider's
// clock is).
var maxUnix = event.MaxTime.Unix() - 1

// Unix reads s, a decimal number of seconds since the Unix epoch that may
// have a fractional part ("1767603600", "1767603600.329574"), as a UTC
// time. Negative, non-finite and absurdly large values (from
// event.MaxTime on) are errors.
func Unix(s string) (time.Time, error) {
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
		if sec < 0 || sec > maxUnix {
			return time.Time{}, ErrTime
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > float64(maxUnix+1) {
		return time.Time{}, ErrTime
	}
	sec, frac := math.Modf(f)
	// Microseconds are all the precision a float64 keeps at this scale.
	usec := math.Round(frac * 1e6)
	t := time.Unix(int64(sec), int64(usec)*1e3).UTC()
	if !t.Before(event.MaxTime) { // rounded up to it
		return time.Time{}, ErrTime
	}
	return t, nil
}

// UnixJSON reads a JSON number (or a string holding one) with [Unix].
func UnixJSON(raw json.RawMessage) (time.Time, error) {
	s, ok := Text(raw)
	if !ok {
		return time.Time{}, ErrTime
	}
	return Unix(s)
}

// RFC3339 reads an RFC 3339 timestamp with any fractional precision
// ("2019-11-05T16:33:54.9070259Z") as a UTC time. Times outside the
// range of event times (after the zero time, before event.MaxTime) are
// errors.
func RFC3339(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !t.After(time.Time{}) || !t.Before(event.MaxTime) {
		return time.Time{}, ErrTime
	}
	return t.UTC(), nil
}

// MaxURLLength is the longest link kept as a "url" property: longer ones
// are left out rather than have the engine reject the whole event for its
// size (event.DefaultLimits allows 16 KiB of properties).
const MaxURLLength = 2048

// URLProperty returns the properties of a click on link: {"url": link}, or
// nil when link is empty, over [MaxURLLength] bytes or not text every
// store keeps (a NUL byte, invalid UTF-8): left out rather than have the
// engine reject the whole event.
func URLProperty(link string) map[string]any {
	if link == "" || len(link) > MaxURLLength || event.CheckText(link) != nil {
		return nil
	}
	return map[string]any{"url": link}
}

// URLPropertyOf is [URLProperty] of the JSON string raw, or nil when raw
// is not valid UTF-8 or escapes half a surrogate pair (encoding/json
// would read it with U+FFFD in place of the bad text).
func URLPropertyOf(raw json.RawMessage) map[string]any {
	if UTF8(raw) != nil {
		return nil
	}
	link, _ := String(raw)
	return URLProperty(link)
}

// CheckAge refuses a signed time at more than max away from now, either
// way, as a parser with a max age does, with a *webhook.AgeError that
// names provider and what (the time as the request carried it,
// "timestamp 1767603600" say).
func CheckAge(provider, what string, at, now time.Time, max time.Duration) error {
	if age := now.Sub(at); age > max || age < -max {
		return &webhook.AgeError{Provider: provider, Signed: what, Age: age, Max: max}
	}
	return nil
}

// CheckClock refuses, for provider's WithClock, a nil clock or a nil
// pointer in the interface, which would panic at the first signed
// request.
func CheckClock(provider string, c webhook.Clock) error {
	switch {
	case c == nil:
		return fmt.Errorf("%s: nil clock", provider)
	case nilval.Is(c):
		return fmt.Errorf("%s: nil clock (a nil %T)", provider, c)
	}
	return nil
}
