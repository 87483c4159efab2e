package connector

import (
	"fmt"
	"iter"

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

// nearestName returns the name of names that id most likely misspells
// ([editdist.Nearest]).
func nearestName(id string, names iter.Seq[string]) string { return editdist.Nearest(id, names) }
