package linetext

import "testing"

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
	} {
		if got := Prose(in); got != want {
			t.Errorf("Prose(%q) = %s, want %s", in, got, want)
		}
	}
}
