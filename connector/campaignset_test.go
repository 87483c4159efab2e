package connector

import (
	"fmt"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

func TestCampaignSetHoldsExactlyItsIDs(t *testing.T) {
	// IDs of every length around the eight-byte words, and IDs that share
	// their length and both edges (the hash's input) with one another.
	var ids []string
	for n := 1; n <= 20; n++ {
		id := ""
		for len(id) < n {
			id += string(rune('a' + len(id)%26))
		}
		ids = append(ids, id)
	}
	for i := range 50 {
		ids = append(ids, fmt.Sprintf("newsletter-%03d-weekly", i)) // same edges, same length
	}
	var cs []*campaign
	for _, id := range ids {
		cs = append(cs, &campaign{CampaignRecord: store.CampaignRecord{Campaign: rule.Campaign{ID: id}}})
	}
	s := newCampaignSet(cs)
	for _, id := range ids {
		if !s.has(id) {
			t.Errorf("has(%q) = false", id)
		}
	}
	for _, id := range []string{"", "x", "abcdefgh ", "newsletter-050-weekly", "newsletter-001-weeklY", "Newsletter-001-weekly"} {
		if s.has(id) {
			t.Errorf("has(%q) = true", id)
		}
	}
	if empty := newCampaignSet(nil); empty.has("a") {
		t.Error("the empty set has a")
	}
}
