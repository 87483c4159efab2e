// Package linetext renders text from events (IDs, details quoting them)
// on lines of human-readable output, such as decision timelines, so that
// whatever the text holds, a line reads as what it is: the text cannot
// end the line, pass for another field, or turn the line around.
package linetext

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Field renders s, an identifier that may come from events (a user ID,
// an event ID, a campaign ID an event names), as one field of a line: as
// it is when it holds only visible characters other than quotes and
// backslashes, else quoted with Go's escapes ("ann\nbob", "two words",
// "" for the empty string).
func Field(s string) string {
	if s == "" || !utf8.ValidString(s) {
		return strconv.Quote(s) // invalid bytes as \xNN
	}
	for _, r := range s {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == '"' || r == '\\' || unicode.Is(unicode.Bidi_Control, r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// Prose returns s with its control, line-breaking and bidirectional
// characters and its invalid bytes escaped as in Go ("\n", "\u202e",
// "\xff") and the rest as it is:
// prose that quotes event data (a decision's detail) stays on its line.
func Prose(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, escaped) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1: // an invalid byte
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case escaped(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func escaped(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

// Clip returns s cut to at most n bytes, at the start of a UTF-8
// sequence, so that a valid string stays valid. It looks back at most
// three bytes for that start (in valid UTF-8, a character's start is no
// further back), so that invalid bytes never cut the string to nothing.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n, 0)
	for k := 0; k < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(s[cut]); k++ {
		cut--
	}
	return s[:cut]
}

// QuotedFirst quotes the first n of ids, Go-style, followed by how many
// more there are: ["a" "b"], or ["a" "b"] and 3 more. An error naming
// what a request or a file holds names that many, not every one.
func QuotedFirst(ids []string, n int) string {
	if len(ids) <= n {
		return fmt.Sprintf("%q", ids)
	}
	return fmt.Sprintf("%q and %d more", ids[:n], len(ids)-n)
}
