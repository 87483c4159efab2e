package connector

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// A reference to a campaign no one saved suggests the ID it most likely
// misspells: another case, or two edits at most and one per three
// letters; nothing when two IDs are as near, or when the ID is too short
// for a suggestion to mean anything.
func TestNearestName(t *testing.T) {
	names := []string{"newsletter", "resend", "promo_1", "promo_2", "ab", "Welcome", "Promo", "promo"}
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
		"PROMO":      "", // Promo or promo
		"":           "",
	} {
		if got := nearestName(id, slices.Values(names)); got != want {
			t.Errorf("nearestName(%q) = %q, want %q", id, got, want)
		}
	}
}

// Only the first maxSuggestions references of one Save that name an
// unknown campaign look for a suggestion, each through every campaign ID:
// a definition naming thousands of misspelt campaigns among thousands of
// known ones costs no more than a few.
func TestSuggestionsAreBounded(t *testing.T) {
	ctx := context.Background()
	e, err := New(store.NewMemory(), SenderFunc(func(context.Context, Delivery) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Save(ctx, rule.Campaign{ID: "newsletter"}); err != nil {
		t.Fatal(err)
	}
	c := rule.Campaign{ID: "resend"}
	for range 3 * maxSuggestions {
		c.Triggers = append(c.Triggers, rule.Trigger{Kind: event.PushOpened, CampaignID: "newsleter"})
	}
	err = e.Save(ctx, c)
	if !errors.Is(err, ErrUnknownCampaign) {
		t.Fatalf("Save: %v, want ErrUnknownCampaign", err)
	}
	if got := strings.Count(err.Error(), "did you mean"); got != maxSuggestions {
		t.Errorf("%d suggestions, want %d: %v", got, maxSuggestions, err)
	}
}
