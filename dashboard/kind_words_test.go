package dashboard

import (
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// Every kind a trigger can name reads as what the user does, never as its
// wire name: a kind added to event fails here until it has a phrase.
func TestEveryKindReadsInWords(t *testing.T) {
	for _, k := range event.Kinds() {
		tr := rule.Trigger{Kind: k}
		if _, ok := kindPhrases[k]; ok {
			tr.CampaignID = "welcome"
		}
		if k == event.CustomEvent {
			tr.Name = "signed_up"
		}
		got := triggerAction(tr)
		if strings.Contains(got, string(k)) || got == tr.String() {
			t.Errorf("%s reads %q: a code, not words", k, got)
		}
		if tr.CampaignID != "" && !strings.Contains(got, `"welcome"`) {
			t.Errorf("%s reads %q: the campaign is missing", k, got)
		}
	}
}

func TestMatcherWords(t *testing.T) {
	where := []rule.Condition{rule.Greater("price", 50)}
	for _, c := range []struct {
		tr   rule.Trigger
		want string
	}{
		{rule.Trigger{Kind: event.EmailOpened, CampaignID: "news"}, `opens the email "news"`},
		{rule.Trigger{Kind: event.EmailOpened}, `opens any email`},
		{rule.Trigger{Kind: event.EmailClicked, CampaignID: "news"}, `clicks a link in the email "news"`},
		{rule.Trigger{Kind: event.EmailAliasClicked, CampaignID: "news", Target: "shipping"}, `clicks the link "shipping" in the email "news"`},
		{rule.Trigger{Kind: event.EmailAliasClicked, CampaignID: "news"}, `clicks a link with an alias in the email "news"`},
		{rule.Trigger{Kind: event.PushButtonClicked, CampaignID: "p", Target: "yes"}, `clicks the button "yes" of the push "p"`},
		{rule.Trigger{Kind: event.PushStoryPageClicked, CampaignID: "p"}, `clicks a story page of the push "p"`},
		{rule.Trigger{Kind: event.ConversionPerformed, CampaignID: "p", Target: "bought"}, `converts on the campaign "p" (the conversion "bought")`},
		{rule.Trigger{Kind: event.ConversionPerformed, CampaignID: "p"}, `converts on the campaign "p" (any conversion)`},
		{rule.Trigger{Kind: event.ControlGroupEnrolled, CampaignID: "p"}, `is held out of the campaign "p" (its control group)`},
		{rule.Trigger{Kind: event.Purchase}, `buys anything`},
		{rule.Trigger{Kind: event.Purchase, Name: "sku-1", Where: where}, `buys "sku-1", where price > 50`},
		{rule.Trigger{Kind: event.CustomEvent, Name: "signed_up"}, `does "signed_up" (a custom event)`},
		{rule.Trigger{Kind: event.SessionStart}, `starts a session`},
		{rule.Trigger{Kind: event.SMSReceived, CampaignID: "s", Where: append(where, where...)}, `receives the SMS "s", where price > 50 and price > 50`},
		// What the phrases cannot say is said as code, whole.
		{rule.Trigger{Kind: "kind_of_a_later_version", CampaignID: "p"}, `kind_of_a_later_version of "p"`},
		{rule.Trigger{Kind: event.EmailOpened, CampaignID: "p", Target: "x"}, `email_opened of "p" [x]`},
		{rule.Trigger{Kind: event.Purchase, CampaignID: "p"}, `purchase of "p"`},
	} {
		if got := triggerAction(c.tr); got != c.want {
			t.Errorf("%s: %q, want %q", c.tr, got, c.want)
		}
		x := rule.Exception{Kind: c.tr.Kind, CampaignID: c.tr.CampaignID, Target: c.tr.Target, Name: c.tr.Name, Where: c.tr.Where}
		if got := exceptionAction(x); got != c.want {
			t.Errorf("exception %s: %q, want %q", x, got, c.want)
		}
	}
}

// Decisions and tallies carry a trigger or an exception as its String form:
// the timeline and the cancellations' breakdown say it as what the user
// did when the campaign still has it, and as recorded when an edit
// removed it.
func TestRecordedRulesReadAsActions(t *testing.T) {
	c := rule.Campaign{
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}},
		Exceptions: []rule.Exception{{Kind: event.Purchase, Name: "sku-1"}},
	}
	a := actionsOf(&c)
	for _, tc := range []struct {
		d    rule.Decision
		want string
	}{
		{rule.Decision{Kind: rule.Scheduled, Rule: c.Triggers[0].String()}, `scheduled when the user receives the email "news"`},
		{rule.Decision{Kind: rule.Scheduled, Rule: `email_opened of "news"`}, `scheduled by the trigger email_opened of "news"`},
		{rule.Decision{Kind: rule.Cancelled, Reason: rule.ReasonException, Rule: c.Exceptions[0].String()},
			`cancelled: while waiting, the user buys "sku-1" (exception)`},
		{rule.Decision{Kind: rule.Cancelled, Reason: rule.ReasonException, Rule: "session_start"},
			`cancelled: session_start happened while the user waited (exception)`},
	} {
		if got := decisionWords(tc.d, time.UTC, a); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s %q reads %q, want %q", tc.d.Kind, tc.d.Rule, got, tc.want)
		}
	}
	if got := decisionWords(rule.Decision{Kind: rule.Scheduled, Rule: c.Triggers[0].String()}, time.UTC, nil); got != `scheduled by the trigger email_received of "news"` {
		t.Errorf("without the campaign: %q", got)
	}
}

// A pending delivery's trigger reads as what the user did, in the words
// of the campaign's rules, never as its wire name; what they cannot say
// is "" and the page shows the kind as code.
func TestEventWords(t *testing.T) {
	for _, c := range []struct {
		e    event.Event
		want string
	}{
		{event.Event{Kind: event.PushReceived, CampaignID: "abandoned_cart", ID: "ev-1"}, `received the push "abandoned_cart"`},
		{event.Event{Kind: event.EmailReceived, CampaignID: "news"}, `received the email "news"`},
		{event.Event{Kind: event.EmailReceived}, `received an email`},
		{event.Event{Kind: event.SMSReceived}, `received an SMS`},
		{event.Event{Kind: event.InAppMessageViewed}, `viewed an in-app message`},
		{event.Event{Kind: event.EmailAliasClicked, CampaignID: "news", Target: "shipping"}, `clicked the link "shipping" in the email "news"`},
		{event.Event{Kind: event.PushButtonClicked, CampaignID: "p"}, `clicked a button of the push "p"`},
		{event.Event{Kind: event.ConversionPerformed, CampaignID: "p", Target: "bought"}, `converted on the campaign "p" (the conversion "bought")`},
		{event.Event{Kind: event.ConversionPerformed, CampaignID: "p"}, `converted on the campaign "p" (a conversion)`},
		{event.Event{Kind: event.ControlGroupEnrolled, CampaignID: "p"}, `was held out of the campaign "p" (its control group)`},
		{event.Event{Kind: event.Purchase}, `bought something`},
		{event.Event{Kind: event.Purchase, Name: "sku-1"}, `bought "sku-1"`},
		{event.Event{Kind: event.CustomEvent, Name: "signed_up"}, `did "signed_up" (a custom event)`},
		{event.Event{Kind: event.SessionStart}, `started a session`},
		{event.Event{Kind: "kind_of_a_later_version", CampaignID: "p"}, ``},
		{event.Event{Kind: event.EmailOpened, CampaignID: "p", Target: "x"}, ``},
		{event.Event{Kind: event.Purchase, CampaignID: "p"}, ``},
	} {
		if got := eventWords(c.e); got != c.want {
			t.Errorf("%s of %q: %q, want %q", c.e.Kind, c.e.CampaignID, got, c.want)
		}
	}
	for _, k := range event.Kinds() {
		e := event.Event{Kind: k}
		if _, ok := kindPhrases[k]; ok {
			e.CampaignID = "welcome"
		}
		if k == event.CustomEvent {
			e.Name = "signed_up"
		}
		got := eventWords(e)
		if got == "" || strings.Contains(got, string(k)) {
			t.Errorf("%s reads %q: not in words", k, got)
		}
		if e.CampaignID != "" && !strings.Contains(got, `"welcome"`) {
			t.Errorf("%s reads %q: the campaign is missing", k, got)
		}
	}
}
