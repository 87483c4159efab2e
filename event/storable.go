package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campaignconnector/campaignconnector/internal/jsontext"
)

// MaxIDBytes is the longest identifier (event ID, user ID, campaign ID,
// target or name) any store holds, whatever the [Limits]: PostgreSQL
// indexes a user's event IDs by namespace, user and ID, and an index entry
// holds at most about 2.7 KB.
//
// Three bounds apply to identifiers, the tightest first: an engine checks
// events against its [Limits] (MaxIDLength, 256 bytes in [DefaultLimits]);
// every event, whatever the Limits, against MaxIDBytes; and a campaign's
// own ID, in its definition, against rule.MaxIDLength (256 bytes).
const MaxIDBytes = 1024

// MaxTime bounds event times: an event at or after it, or before the zero
// time (the first instant of the year 1, UTC), is rejected. The engine
// adds delays and windows (each a time.Duration, under 300 years) to event
// times, and stores keep times up to the year 9999 only, so event times
// stop well before.
var MaxTime = time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)

// CheckText reports whether every store keeps s exactly: valid UTF-8
// without NUL bytes. The error says what is wrong without quoting s.
func CheckText(s string) error {
	if textOK(s) {
		return nil
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Errorf("holds a NUL byte at byte %d", i)
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return fmt.Errorf("is not valid UTF-8 at byte %d", i)
		}
		i += n
	}
	return nil
}

// textOK is CheckText's verdict, eight bytes at a time while they are
// ASCII without NUL (identifiers nearly always are).
func textOK(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		// A byte's high bit is set in (x-ones)|x when it is 0 or ≥ 0x80.
		if ((x-ones)|x)&highs != 0 {
			return slowTextOK(s[i:])
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf {
			return slowTextOK(s[i:])
		}
	}
	return true
}

func slowTextOK(s string) bool { return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) }

// checkID reports an identifier that is not text every store keeps, or
// longer than MaxIDBytes.
func checkID(s string) (reason string, sentinel error) {
	if len(s) > MaxIDBytes {
		return fmt.Sprintf("%d bytes, at most %d", len(s), MaxIDBytes), ErrTooLarge
	}
	if err := CheckText(s); err != nil {
		return err.Error(), ErrUnstorable
	}
	return "", nil
}

// idFits reports whether checkID finds nothing wrong with s.
func idFits(s string) bool { return len(s) <= MaxIDBytes && textOK(s) }

// CheckTime reports whether every store keeps t exactly: the zero time,
// or a time whose year, in its own zone, is 0 to 9999, in a zone whose
// offset from UTC is a whole number of minutes under 24 hours. RFC 3339,
// which JSON documents use, writes nothing else, and drops an offset's
// seconds.
func CheckTime(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return fmt.Errorf("year %d is outside 0 to 9999", y)
	}
	if _, off := t.Zone(); off%60 != 0 || off <= -24*60*60 || off >= 24*60*60 {
		return fmt.Errorf("zone offset of %d seconds is not whole minutes under 24 hours", off)
	}
	return nil
}

// eventTimeFits reports whether t, not zero, lies between the zero time
// and MaxTime, the range of event times.
func eventTimeFits(t time.Time) bool { return t.After(time.Time{}) && t.Before(MaxTime) }

// timeFits reports whether t is an event time Validate accepts.
func timeFits(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	if t.Location() != time.UTC { // UTC, the usual zone, has no offset to check
		if _, off := t.Zone(); off%60 != 0 || off <= -24*60*60 || off >= 24*60*60 {
			return false
		}
	}
	return eventTimeFits(t)
}

// The range of PostgreSQL's numeric, which jsonb stores numbers in.
const (
	maxLeadExponent = 131071    // the leading digit's power of ten: 131072 digits before the point
	maxScale        = 16383     // digits after the decimal point
	maxExponent     = 1<<30 - 2 // written exponents PostgreSQL reads at all: under INT_MAX/2
)

// checkNumber reports whether s is a JSON number that PostgreSQL's
// numeric holds.
func checkNumber(s string) error {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return badNumber(s)
	}
	whole := s[start:i]
	var frac string
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return badNumber(s)
		}
		frac = s[start:i]
	}
	var exp int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := i < len(s) && s[i] == '-'
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		start = i
		for ; i < len(s) && isDigit(s[i]); i++ {
			if exp <= maxExponent {
				exp = exp*10 + int64(s[i]-'0')
			}
		}
		if i == start {
			return badNumber(s)
		}
		if neg {
			exp = -exp
		}
	}
	if i != len(s) {
		return badNumber(s)
	}
	if exp > maxExponent || exp < -maxExponent || int64(len(frac))-exp > maxScale {
		return outOfRange(s)
	}
	lead, nonzero := int64(0), false
	if k := strings.IndexFunc(whole, func(r rune) bool { return r != '0' }); k >= 0 {
		lead, nonzero = int64(len(whole)-1-k), true
	} else if k := strings.IndexFunc(frac, func(r rune) bool { return r != '0' }); k >= 0 {
		lead, nonzero = int64(-1-k), true
	}
	if nonzero && lead+exp > maxLeadExponent {
		return outOfRange(s)
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func badNumber(s string) error {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return fmt.Errorf("%q is not a JSON number", s)
}

func outOfRange(s string) error {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return fmt.Errorf("%s is beyond 131072 digits before the decimal point or 16383 after", s)
}

// CheckJSON reports whether raw is a JSON document every store keeps
// exactly: valid JSON whose strings (keys included) are valid UTF-8 and
// hold no NUL character, not even escaped as \u0000, nor an unpaired
// surrogate escape, and whose numbers pass the same checks as a
// [json.Number] property.
func CheckJSON(raw []byte) error {
	if !json.Valid(raw) {
		return errors.New("not valid JSON")
	}
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '"':
			n, err := jsontext.String(raw[i:], false)
			if err != nil {
				return fmt.Errorf("string at byte %d %w", i, err)
			}
			i += n
		case c == '-' || isDigit(c):
			j := i
			for j < len(raw) && strings.IndexByte("+-.eE0123456789", raw[j]) >= 0 {
				j++
			}
			if err := checkNumber(string(raw[i:j])); err != nil {
				return fmt.Errorf("number at byte %d: %w", i, err)
			}
			i = j
		default:
			i++
		}
	}
	return nil
}
