package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Matches selects what the stores select: external stores filter with it.
func TestTallyQueryMatches(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key := func(campaign string) *store.TallyKey {
		return &store.TallyKey{Hour: at.Unix(), CampaignID: campaign, Kind: rule.Delivered}
	}
	for _, c := range []struct {
		name     string
		q        store.TallyQuery
		campaign string
		want     bool
	}{
		{"every campaign", store.TallyQuery{}, "a", true},
		{"the campaign", store.TallyQuery{CampaignID: "a"}, "a", true},
		{"another campaign", store.TallyQuery{CampaignID: "b"}, "a", false},
		{"a listed campaign", store.TallyQuery{CampaignIDs: []string{"b", "a"}}, "a", true},
		{"an unlisted campaign", store.TallyQuery{CampaignIDs: []string{"b", "c"}}, "a", false},
		{"no campaign, listed", store.TallyQuery{CampaignIDs: []string{""}}, "", true},
		{"no campaign, unlisted", store.TallyQuery{CampaignIDs: []string{"a"}}, "", false},
		{"a listed campaign out of the hours", store.TallyQuery{Since: at.Add(time.Second), CampaignIDs: []string{"a"}}, "a", false},
		{"a listed campaign before until", store.TallyQuery{Until: at.Add(time.Nanosecond), CampaignIDs: []string{"a"}}, "a", true},
	} {
		if got := c.q.Matches(key(c.campaign)); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestTallyQueryWithACampaignAndAListIsInvalid(t *testing.T) {
	q := store.TallyQuery{CampaignID: "a", CampaignIDs: []string{"a"}}
	err := q.Validate()
	var ve *rule.ValidationError
	if !errors.Is(err, store.ErrInvalidQuery) || !errors.As(err, &ve) || ve.Field != "campaign_ids" {
		t.Fatalf("Validate = %v, want a *rule.ValidationError of campaign_ids wrapping ErrInvalidQuery", err)
	}
	for _, ok := range []store.TallyQuery{{CampaignID: "a"}, {CampaignIDs: []string{"a"}}, {CampaignID: "a", CampaignIDs: []string{}}} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}

// Matches selects by kind as the stores do, with the hours and campaigns.
func TestTallyQueryMatchesKinds(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key := func(campaign string, kind rule.DecisionKind) *store.TallyKey {
		return &store.TallyKey{Hour: at.Unix(), CampaignID: campaign, Kind: kind}
	}
	trouble := []rule.DecisionKind{rule.Failed, rule.Retried, rule.Deferred}
	for _, c := range []struct {
		name string
		q    store.TallyQuery
		k    *store.TallyKey
		want bool
	}{
		{"a listed kind", store.TallyQuery{Kinds: trouble}, key("a", rule.Retried), true},
		{"an unlisted kind", store.TallyQuery{Kinds: trouble}, key("a", rule.Delivered), false},
		{"an empty list", store.TallyQuery{Kinds: []rule.DecisionKind{}}, key("a", rule.Delivered), true},
		{"a kind the rule package does not name", store.TallyQuery{Kinds: []rule.DecisionKind{"rerouted"}}, key("a", "rerouted"), true},
		{"a listed kind of the campaign", store.TallyQuery{CampaignID: "a", Kinds: trouble}, key("a", rule.Failed), true},
		{"a listed kind of another campaign", store.TallyQuery{CampaignID: "b", Kinds: trouble}, key("a", rule.Failed), false},
		{"a listed kind of a listed campaign", store.TallyQuery{CampaignIDs: []string{"b", "a"}, Kinds: trouble}, key("a", rule.Failed), true},
		{"an unlisted kind of a listed campaign", store.TallyQuery{CampaignIDs: []string{"a"}, Kinds: trouble}, key("a", rule.Scheduled), false},
		{"a listed kind out of the hours", store.TallyQuery{Since: at.Add(time.Second), Kinds: trouble}, key("a", rule.Failed), false},
	} {
		if got := c.q.Matches(c.k); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, got, c.want)
		}
	}
}

// A kind no tally can have is refused, naming its place in the list; any
// other text is a kind, known to the rule package or not.
func TestTallyQueryKindsAreText(t *testing.T) {
	for _, k := range []rule.DecisionKind{"", "\xff", "fai\x00led"} {
		q := store.TallyQuery{Kinds: []rule.DecisionKind{rule.Failed, k}}
		err := q.Validate()
		var ve *rule.ValidationError
		if !errors.Is(err, store.ErrInvalidQuery) || !errors.As(err, &ve) || ve.Field != "kinds[1]" {
			t.Errorf("kind %q: Validate = %v, want a *rule.ValidationError of kinds[1] wrapping ErrInvalidQuery", k, err)
		}
	}
	for _, ok := range []store.TallyQuery{
		{Kinds: []rule.DecisionKind{rule.Failed, rule.Failed}},
		{Kinds: []rule.DecisionKind{"rerouted"}},
		{CampaignID: "a", Kinds: []rule.DecisionKind{rule.Delivered}},
		{CampaignIDs: []string{"a"}, Kinds: []rule.DecisionKind{rule.Delivered}},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}
