package linetext

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestField(t *testing.T) {
	for in, want := range map[string]string{
		"ann":                  "ann",
		"user-42@example.com":  "user-42@example.com",
		"émile":                "émile",
		"":                     `""`,
		"two words":            `"two words"`,
		"ann\nbob":             `"ann\nbob"`,
		`say "hi"`:             `"say \"hi\""`,
		`back\slash`:           `"back\\slash"`,
		"evil\u202edcba":       `"evil\u202edcba"`,
		"tab\there":            `"tab\there"`,
		"nbsp\u00a0inside":     `"nbsp\u00a0inside"`,
		"line\u2028separator":  `"line\u2028separator"`,
		"zero\u200bwidth":      `"zero\u200bwidth"`,
		"dollar$and=equals(1)": "dollar$and=equals(1)",
		"\x85":                 `"\x85"`,
		"e\xff":                `"e\xff"`,
	} {
		if got := Field(in); got != want {
			t.Errorf("Field(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestProse(t *testing.T) {
	for in, want := range map[string]string{
		`campaign "news" is not known`: `campaign "news" is not known`,
		"line one\nline two":           `line one\nline two`,
		"turn\u202earound":             `turn\u202earound`,
		"bell\a":                       `bell\a`,
		"tab\tkept escaped":            `tab\tkept escaped`,
		"\"\xff":                       `"\xff`,
		"x\x9by \u00e9":                `x\x9by é`,
	} {
		if got := Prose(in); got != want {
			t.Errorf("Prose(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestAnyStringStaysOnOneLine: for random bytes, Field and Prose give one
// line of valid UTF-8, and a quoted Field reads back as the input.
func TestAnyStringStaysOnOneLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", " ", "\n", "\r", "\"", "\\", "\x85", "\xff", "\u202e", "\u2028", "é", "\x1b", "\t", "=", "\u200b"}
	for range 5000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		for _, out := range []string{Field(s), Prose(s)} {
			if strings.ContainsAny(out, "\n\r\u2028\u2029\u0085") || !utf8.ValidString(out) || strings.ContainsRune(out, '\u202e') {
				t.Fatalf("%q gives %q: not one plain line", s, out)
			}
		}
		if f := Field(s); f != s {
			if back, err := strconv.Unquote(f); err != nil || back != s {
				t.Fatalf("Field(%q) = %s reads back as %q (%v)", s, f, back, err)
			}
		}
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"ann", 5, "ann"},
		{"ann", 3, "ann"},
		{"anna", 3, "ann"},
		{"aé", 2, "a"},                              // é is two bytes: cut before it
		{"日本", 4, "日"},                              // three-byte characters
		{"a\x80\x80\x80\x80", 4, "a"},               // invalid bytes: three back at most
		{"\x80\x80\x80\x80\x80\x80", 5, "\x80\x80"}, // never to nothing
		{"é", 0, ""},
	} {
		got := Clip(c.in, c.n)
		if got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		if utf8.ValidString(c.in) && !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q: not valid UTF-8", c.in, c.n, got)
		}
	}
}

func TestQuotedFirst(t *testing.T) {
	if got, want := QuotedFirst([]string{"a", "b"}, 2), `["a" "b"]`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := QuotedFirst([]string{"a", "b", "c", "d"}, 2), `["a" "b"] and 2 more`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
