package connectortest

import (
	"testing"
)

// nearest suggests a name one or two edits away, scaled to the word's
// length, or one in another case, and nothing when two are as near.
func TestNearest(t *testing.T) {
	names := []string{"scheduled", "cancelled", "held_out", "late", "created", "creates"}
	for _, tc := range []struct{ s, want string }{
		{"canceled", "cancelled"},
		{"CANCELLED", "cancelled"},
		{"CANCELED", "cancelled"}, // a misspelling in capitals
		{"HELD-OUT", "held_out"},
		{"Shceduled", "scheduled"},
		{"held-out", "held_out"},
		{"shceduled", "scheduled"}, // a swap is one edit
		{"lat", "late"},            // one edit for a word of three letters
		{"lt", ""},                 // none for one of two
		{"", ""},
		{"sent", ""},
		{"cretaed", "created"}, // one swap; "creates" is two edits away
		{"createz", ""},        // one edit from both
	} {
		if got := nearest(tc.s, names); got != tc.want {
			t.Errorf("nearest(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
