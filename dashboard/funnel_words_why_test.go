package dashboard

import (
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// wantWords fails t unless words say each of want and none of not.
func wantWords(t *testing.T, name, words string, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(words, w) {
			t.Errorf("%s: the words lack %q:\n%s", name, w, words)
		}
	}
	for _, w := range not {
		if strings.Contains(words, w) {
			t.Errorf("%s: the words say %q:\n%s", name, w, words)
		}
	}
}

// A day when every event that matched the follow-up's triggers repeated
// the ID of one taken before: the page does not say that no event
// matched, but that they were duplicates.
func TestEmptyFunnelOfDuplicatesSaysSo(t *testing.T) {
	long := fixtureNow.Add(-20 * 24 * time.Hour)
	f := quietFake(rule.Active, long, long)
	f.tallies = []tally{{Hour: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC), CampaignID: "remind", Kind: rule.Duplicate, Reason: rule.ReasonDuplicateEvent, Count: 7}}
	words := funnelWordsOf(t, f, "/campaign?id=remind&day=2026-03-03")
	wantWords(t, "duplicates", words,
		[]string{"7 events that matched its triggers", "duplicates", `receives the email "newsletter"`},
		[]string{"no event the engines took matched"})
}
