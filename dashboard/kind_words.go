package dashboard

import (
	"fmt"
	"strings"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// kindPhrase says what a user does for an event of one kind, as a verb
// phrase: "opens %s" with the campaign's object phrase in place of %s.
// thing names what the campaign is ("email", "push"); part names what the
// kind's Target selects ("link", "button"), empty when it selects nothing;
// anyPart says the part when no Target is set.
type kindPhrase struct {
	verb    string // a format with one %s, the campaign (or the part and the campaign)
	thing   string
	part    string
	anyPart string
}

// kindPhrases holds a phrase for every kind this version knows; a test
// fails when event gains a kind without one. Custom events, purchases and
// session starts name no campaign and are said by matcherWords itself.
var kindPhrases = map[event.Kind]kindPhrase{
	event.InAppMessageViewed:        {verb: "views %s", thing: "in-app message"},
	event.InAppMessageClicked:       {verb: "clicks %s", thing: "in-app message"},
	event.InAppMessageButtonClicked: {verb: "clicks %s of %s", thing: "in-app message", part: "button", anyPart: "a button"},
	event.EmailClicked:              {verb: "clicks a link in %s", thing: "email"},
	event.EmailAliasClicked:         {verb: "clicks %s in %s", thing: "email", part: "link", anyPart: "a link with an alias"},
	event.EmailOpened:               {verb: "opens %s", thing: "email"},
	event.PushOpened:                {verb: "opens %s", thing: "push"},
	event.PushButtonClicked:         {verb: "clicks %s of %s", thing: "push", part: "button", anyPart: "a button"},
	event.PushStoryPageClicked:      {verb: "clicks %s of %s", thing: "push", part: "story page", anyPart: "a story page"},
	event.ConversionPerformed:       {verb: "converts on %[2]s (%[1]s)", thing: "campaign", part: "conversion", anyPart: "any conversion"},
	event.EmailReceived:             {verb: "receives %s", thing: "email"},
	event.SMSReceived:               {verb: "receives %s", thing: "SMS"},
	event.SMSLinkClicked:            {verb: "clicks a link in %s", thing: "SMS"},
	event.PushReceived:              {verb: "receives %s", thing: "push"},
	event.WebhookReceived:           {verb: "is sent %s", thing: "webhook"},
	event.ControlGroupEnrolled:      {verb: "is held out of %s (its control group)", thing: "campaign"},
	event.ContentCardViewed:         {verb: "views %s", thing: "content card"},
	event.ContentCardClicked:        {verb: "clicks %s", thing: "content card"},
	event.ContentCardDismissed:      {verb: "dismisses %s", thing: "content card"},
}

// actions maps the String form of a campaign's triggers and exceptions,
// as decisions and tallies carry it in their Rule, to what the user does.
type actions map[string]string

// actionsOf returns the actions of c's triggers and exceptions. A nil c
// has none: rules are then said as they are recorded.
func actionsOf(c *rule.Campaign) actions {
	if c == nil {
		return nil
	}
	a := make(actions, len(c.Triggers)+len(c.Exceptions))
	for _, t := range c.Triggers {
		a[t.String()] = triggerAction(t)
	}
	for _, x := range c.Exceptions {
		a[x.String()] = exceptionAction(x)
	}
	return a
}

// triggerAction says a trigger as what the user does: `receives the push
// "abandoned_cart"`.
func triggerAction(t rule.Trigger) string {
	return matcherWords(t.Kind, t.CampaignID, t.Target, t.Name, t.Where, t.String())
}

// exceptionAction says an exception as [triggerAction] says a trigger.
func exceptionAction(x rule.Exception) string {
	return matcherWords(x.Kind, x.CampaignID, x.Target, x.Name, x.Where, x.String())
}

// matcherWords says what a user does for an event to match: the kind as a
// verb, then the campaign, the target or name, and the conditions on its
// properties. A matcher the phrases cannot say faithfully (a kind of a
// later version, a selector its kind does not take) is said as code, the
// given fallback, rather than in words that would drop part of it.
func matcherWords(kind event.Kind, campaignID, target, name string, where []rule.Condition, fallback string) string {
	var s string
	switch kind {
	case event.CustomEvent:
		if name == "" || campaignID != "" || target != "" {
			return fallback
		}
		s = fmt.Sprintf("does %q (a custom event)", name)
	case event.Purchase:
		if campaignID != "" || target != "" {
			return fallback
		}
		s = "buys anything"
		if name != "" {
			s = fmt.Sprintf("buys %q", name)
		}
	case event.SessionStart:
		if campaignID != "" || target != "" || name != "" {
			return fallback
		}
		s = "starts a session"
	default:
		p, ok := kindPhrases[kind]
		if !ok || name != "" || (target != "" && p.part == "") {
			return fallback
		}
		object := "any " + p.thing
		if campaignID != "" {
			object = fmt.Sprintf("the %s %q", p.thing, campaignID)
		}
		switch {
		case p.part == "":
			s = fmt.Sprintf(p.verb, object)
		case target != "":
			s = fmt.Sprintf(p.verb, fmt.Sprintf("the %s %q", p.part, target), object)
		default:
			s = fmt.Sprintf(p.verb, p.anyPart, object)
		}
	}
	if len(where) == 0 {
		return s
	}
	conds := make([]string, len(where))
	for i, c := range where {
		conds[i] = c.String()
	}
	return s + ", where " + strings.Join(conds, " and ")
}
