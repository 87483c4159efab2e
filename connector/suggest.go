package connector

import (
	"fmt"
	"iter"
	"strings"

	"github.com/campaignconnector/campaignconnector/internal/editdist"
)

// didYouMean is ` (did you mean "x"?)` when id, a campaign ID no campaign
// has, looks like a misspelling of x, one of names, else "".
func didYouMean(id string, names iter.Seq[string]) string {
	if x := nearestName(id, names); x != "" {
		return fmt.Sprintf(" (did you mean %q?)", x)
	}
	return ""
}

// maxSuggestions bounds the references of one Save or Apply that are
// given a suggestion: each looks through every campaign ID, so that a
// definition (or a set) naming thousands of unknown campaigns would take
// their number times the campaigns'.
const maxSuggestions = 16

// suggestible returns names for the first maxSuggestions references that
// look through them; the ones after find none.
func suggestible(names iter.Seq[string]) iter.Seq[string] {
	scans := 0
	return func(yield func(string) bool) {
		if scans++; scans > maxSuggestions {
			return
		}
		names(yield)
	}
}

// nearestName returns the name of names that id most likely misspells:
// the one that differs from id in case alone, or else the one nearest to
// it by at most two letters added, dropped, changed or swapped, and by no
// more than one for every three letters of id, so that a short ID does
// not suggest any other short one. Two names as near suggest neither.
func nearestName(id string, names iter.Seq[string]) string {
	limit := min(2, len(id)/3)
	// A name that differs in case alone counts as nearer than any edit:
	// distance -1.
	best, bestD, tie := "", limit+1, false
	for n := range names {
		if n == id {
			continue
		}
		d := -1
		if !strings.EqualFold(n, id) {
			d = editdist.AtMost(id, n, limit)
		}
		switch {
		case d < bestD:
			best, bestD, tie = n, d, false
		case d == bestD && d <= limit:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}
