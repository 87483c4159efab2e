package connector

import (
	"slices"
	"testing"
)

// A reference to a campaign no one saved suggests the ID it most likely
// misspells: another case, or two edits at most and one per three
// letters; nothing when two IDs are as near, or when the ID is too short
// for a suggestion to mean anything.
func TestNearestName(t *testing.T) {
	names := []string{"newsletter", "resend", "promo_1", "promo_2", "ab", "Welcome"}
	for id, want := range map[string]string{
		"newsleter":  "newsletter",
		"nwesletter": "newsletter", // two letters swapped
		"NEWSLETTER": "newsletter",
		"welcome":    "Welcome",
		"resnd":      "resend",
		"rsnd":       "", // two edits in four letters
		"promo_3":    "", // promo_1 or promo_2
		"ac":         "", // one letter off "ab", in two
		"coupon":     "",
		"":           "",
	} {
		if got := nearestName(id, slices.Values(names)); got != want {
			t.Errorf("nearestName(%q) = %q, want %q", id, got, want)
		}
	}
}
