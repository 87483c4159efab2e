package jsontext

import (
	"strings"
	"testing"
)

func TestUnicode(t *testing.T) {
	for _, tc := range []struct{ doc, err string }{
		{`{"a":"plain","b":["caf\u00e9","\ud83d\ude00"],"c":1}`, ""},
		{"{\"a\":\"caf\xc3\xa9\"}", ""},
		{`{"a":"\u0000"}`, ""}, // Unicode lets \u0000 pass: String's nul decides
		{"{\"a\":\"x\xff\"}", "string at byte 5 is not valid UTF-8"},
		{`{"a":"\ud800"}`, "string at byte 5 holds an unpaired surrogate escape"},
		{`{"a":"\udc00\ud800"}`, "holds an unpaired surrogate escape"},
		{`{"a":"\ud800x"}`, "holds an unpaired surrogate escape"},
		{`{"a":"\ud800\u0041"}`, "holds an unpaired surrogate escape"},
		{`["ok","\\ud800"]`, ""}, // an escaped backslash, then text
	} {
		err := Unicode([]byte(tc.doc))
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.doc, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.doc, err, tc.err)
		}
	}
}

func TestStringNul(t *testing.T) {
	for _, nul := range []bool{false, true} {
		n, err := String([]byte(`"a\u0000b" tail`), nul)
		if nul != (err == nil) {
			t.Errorf("nul %v: %v", nul, err)
		}
		if err == nil && n != len(`"a\u0000b"`) {
			t.Errorf("nul %v: length %d", nul, n)
		}
	}
}
