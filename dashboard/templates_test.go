package dashboard

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPropertiesAreCompactAndCut(t *testing.T) {
	if got := properties(map[string]any{"b": 2, "a": "<x>"}); got != `{"a":"<x>","b":2}` {
		t.Errorf("properties = %s", got)
	}
	long := properties(map[string]any{"k": strings.Repeat("é", 500)})
	if !strings.HasSuffix(long, "…") || len(long) > maxProperties+len("…") || !utf8.ValidString(long) {
		t.Errorf("a long value is not cut on a character: %d bytes, valid %t", len(long), utf8.ValidString(long))
	}
	if properties(nil) != "" {
		t.Error("no properties are not empty")
	}
}
