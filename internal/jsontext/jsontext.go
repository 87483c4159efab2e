// Package jsontext checks the text of JSON documents for what
// encoding/json reads without a word as something else: bytes that are not
// UTF-8 and unpaired surrogate escapes, both read as U+FFFD, and, where a
// store cannot keep it, \u0000. The event and rule packages refuse such
// documents rather than keep text other than the one written.
package jsontext

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"
)

// String checks the JSON string (of valid JSON) b starts with and returns
// its length, quotes included: its text must be valid UTF-8, and its \u
// escapes must not leave half a surrogate pair, nor, unless nul is set,
// write \u0000.
func String(b []byte, nul bool) (int, error) {
	for i := 1; i < len(b); {
		switch b[i] {
		case '"':
			return i + 1, nil
		case '\\':
			if b[i+1] != 'u' {
				i += 2
				continue
			}
			r := hex4(b[i+2 : i+6])
			i += 6
			switch {
			case r == 0 && !nul:
				return 0, errors.New(`holds \u0000`)
			case 0xdc00 <= r && r <= 0xdfff:
				return 0, errors.New("holds an unpaired surrogate escape")
			case 0xd800 <= r && r <= 0xdbff:
				if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
					return 0, errors.New("holds an unpaired surrogate escape")
				}
				if low := hex4(b[i+2 : i+6]); low < 0xdc00 || low > 0xdfff {
					return 0, errors.New("holds an unpaired surrogate escape")
				}
				i += 6
			}
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return 0, errors.New("is not valid UTF-8")
			}
			i += n
		}
	}
	return len(b), nil // unreachable for valid JSON
}

// Unicode reports text of raw, valid JSON, that encoding/json reads as
// U+FFFD without a word: bytes that are not UTF-8, or a \u escape of half
// a surrogate pair, naming the byte its string starts at. (Outside its
// strings, valid JSON is ASCII.)
func Unicode(raw []byte) error {
	if utf8.Valid(raw) && !bytes.Contains(raw, []byte(`\u`)) {
		return nil // the common case: no escape to look at
	}
	for i := 0; i < len(raw); {
		if raw[i] != '"' {
			i++
			continue
		}
		n, err := String(raw[i:], true)
		if err != nil {
			return fmt.Errorf("string at byte %d %w", i, err)
		}
		i += n
	}
	return nil
}

// hex4 reads four hexadecimal digits (valid JSON guarantees them).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
