package event

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestLookupKindAgreesWithMap checks the fast kind table against the map
// it is built from: every kind found with its info, and names that are not
// kinds (near misses, random strings) not found.
func TestLookupKindAgreesWithMap(t *testing.T) {
	for k, want := range kinds {
		if got, ok := lookupKind(k); !ok || got != want {
			t.Errorf("lookupKind(%q) = %+v, %v; want %+v", k, got, ok, want)
		}
	}
	probes := []Kind{"", "x", "push", "push_receive", "push_received_", "Push_received", "email_opene", "purchases"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		b := make([]byte, 1+r.IntN(30))
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz_"[r.IntN(27)]
		}
		probes = append(probes, Kind(b))
	}
	for k := range kinds { // near misses: one byte changed
		b := []byte(k)
		b[r.IntN(len(b))] ^= 1
		probes = append(probes, Kind(b))
	}
	for _, k := range probes {
		_, want := kinds[k]
		if _, got := lookupKind(k); got != want {
			t.Errorf("lookupKind(%q) found = %v, want %v", k, got, want)
		}
	}
}

// TestSelectorsFitAgreesWithCheck checks Validate's fast path against the
// full report: for every kind and every shape of campaign, target and name
// (empty or not), selectorsFit holds exactly when checkSelectors finds
// nothing.
func TestSelectorsFitAgreesWithCheck(t *testing.T) {
	for k, info := range kinds {
		for mask := range 8 {
			campaign, target, name := "", "", ""
			if mask&1 != 0 {
				campaign = "c"
			}
			if mask&2 != 0 {
				target = "t"
			}
			if mask&4 != 0 {
				name = "n"
			}
			p := Problems{Object: "event"}
			checkSelectors(&p, k, info, campaign, target, name)
			if fit, clean := selectorsFit(info, campaign, target, name), p.Err() == nil; fit != clean {
				t.Errorf("%s campaign=%q target=%q name=%q: selectorsFit %v, checkSelectors found problems: %v", k, campaign, target, name, fit, p.Err())
			}
		}
	}
}

// TestValidateFastPathKeepsErrors checks that events the fast path could
// mistake for valid are still reported: each differs from a valid event by
// one field.
func TestValidateFastPathKeepsErrors(t *testing.T) {
	ok := Event{UserID: "u", Kind: PushOpened, CampaignID: "c"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []Event{
		{Kind: PushOpened, CampaignID: "c"},
		{UserID: "u", Kind: "push_opene", CampaignID: "c"},
		{UserID: "u", Kind: PushOpened},
		{UserID: "u", Kind: Purchase, CampaignID: "c"},
		{UserID: "u", Kind: PushOpened, CampaignID: "c", Properties: map[string]any{"": 1}},
	} {
		if ev.Validate() == nil {
			t.Errorf("%+v: valid, want an error", ev)
		}
	}
	limits := Limits{MaxIDLength: 3}
	if err := limits.Check(Event{UserID: "abcd"}); err == nil {
		t.Error("a 4-byte user ID passed a 3-byte limit")
	}
	if err := limits.Check(Event{UserID: "abc"}); err != nil {
		t.Errorf("a 3-byte user ID failed a 3-byte limit: %v", err)
	}
}

// TestUnknownKindSuggestsTheNearest: a misspelt kind (a letter added,
// dropped, changed or two swapped, or another case, or a word left out or
// added) names the kind it most likely meant; a name far from every kind,
// or as near to two, suggests nothing.
func TestUnknownKindSuggestsTheNearest(t *testing.T) {
	for in, want := range map[string]string{
		"email_recieved":            "email_received",
		"push_button_clickd":        "push_button_clicked",
		"Purchase":                  "purchase",
		"EMAIL_OPENED":              "email_opened",
		"sesion_start":              "session_start",
		"emailopened":               "email_opened",
		"fax_received":              "",
		"sms_clicked":               "sms_link_clicked",
		"SMS_Clicked":               "sms_link_clicked",
		"in_app_clicked":            "", // the message or a button
		"email_link_clicked":        "email_clicked",
		"push_story_clicked":        "push_story_page_clicked",
		"push_clicked":              "push_opened", // a tap on the notification
		"push_tapped":               "push_opened",
		"email_delivered":           "email_received",
		"SMS_Delivered":             "sms_received",
		"push_delivery":             "push_received",
		"content_card_impression":   "content_card_viewed",
		"in_app_message_impression": "in_app_message_viewed",
		"email_bounced":             "",
		"sms_tapped":                "",
		"push_button_tapped":        "push_button_clicked", // a tap on a button is its click
		"content_card_tapped":       "content_card_clicked",
		"in_app_message_tapped":     "in_app_message_clicked",
		"email_tapped":              "", // an open, or a click on a link
		"email_link":                "",
		"clicked":                   "",
		"content_card":              "",
		"teleport":                  "",
		strings.Repeat("x", 100):    "",
	} {
		_, err := ParseKind(in)
		if !errors.Is(err, ErrUnknownKind) {
			t.Fatalf("ParseKind(%q): %v", in, err)
		}
		verr := Event{UserID: "u", Kind: Kind(in)}.Validate()
		for _, err := range []error{err, verr} {
			hint := fmt.Sprintf("(did you mean %q?)", want)
			if want == "" && strings.Contains(err.Error(), "did you mean") || want != "" && !strings.Contains(err.Error(), hint) {
				t.Errorf("%q: %v, want the hint %s", in, err, hint)
			}
		}
	}
}
