package dashboard

import (
	"fmt"
	"strings"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// kindPhrase says what a user does for an event of one kind, as a verb
// phrase: "opens %s" with the campaign's object phrase in place of %s;
// past says what the user did, for an event that happened: "opened %s".
// thing names what the campaign is ("email", "push"); part names what the
// kind's Target selects ("link", "button"), empty when it selects nothing;
// anyPart says the part when no Target is set.
type kindPhrase struct {
	verb    string // a format with one %s, the campaign (or the part and the campaign)
	past    string // verb in the past tense, with the same arguments
	thing   string
	part    string
	anyPart string
}

// kindPhrases holds a phrase for every kind this version knows; a test
// fails when event gains a kind without one. Custom events, purchases and
// session starts name no campaign and are said by matcherWords itself.
var kindPhrases = map[event.Kind]kindPhrase{
	event.InAppMessageViewed:        {verb: "views %s", past: "viewed %s", thing: "in-app message"},
	event.InAppMessageClicked:       {verb: "clicks %s", past: "clicked %s", thing: "in-app message"},
	event.InAppMessageButtonClicked: {verb: "clicks %s of %s", past: "clicked %s of %s", thing: "in-app message", part: "button", anyPart: "a button"},
	event.EmailClicked:              {verb: "clicks a link in %s", past: "clicked a link in %s", thing: "email"},
	event.EmailAliasClicked:         {verb: "clicks %s in %s", past: "clicked %s in %s", thing: "email", part: "link", anyPart: "a link with an alias"},
	event.EmailOpened:               {verb: "opens %s", past: "opened %s", thing: "email"},
	event.PushOpened:                {verb: "opens %s", past: "opened %s", thing: "push"},
	event.PushButtonClicked:         {verb: "clicks %s of %s", past: "clicked %s of %s", thing: "push", part: "button", anyPart: "a button"},
	event.PushStoryPageClicked:      {verb: "clicks %s of %s", past: "clicked %s of %s", thing: "push", part: "story page", anyPart: "a story page"},
	event.ConversionPerformed:       {verb: "converts on %[2]s (%[1]s)", past: "converted on %[2]s (%[1]s)", thing: "campaign", part: "conversion", anyPart: "any conversion"},
	event.EmailReceived:             {verb: "receives %s", past: "received %s", thing: "email"},
	event.SMSReceived:               {verb: "receives %s", past: "received %s", thing: "SMS"},
	event.SMSLinkClicked:            {verb: "clicks a link in %s", past: "clicked a link in %s", thing: "SMS"},
	event.PushReceived:              {verb: "receives %s", past: "received %s", thing: "push"},
	event.WebhookReceived:           {verb: "is sent %s", past: "was sent %s", thing: "webhook"},
	event.ControlGroupEnrolled:      {verb: "is held out of %s (its control group)", past: "was held out of %s (its control group)", thing: "campaign"},
	event.ContentCardViewed:         {verb: "views %s", past: "viewed %s", thing: "content card"},
	event.ContentCardClicked:        {verb: "clicks %s", past: "clicked %s", thing: "content card"},
	event.ContentCardDismissed:      {verb: "dismisses %s", past: "dismissed %s", thing: "content card"},
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
		s = p.say(p.verb, object, target, p.anyPart)
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

// say fills verb, p's verb or past, with the object phrase of the
// campaign and, for a kind with a part, the target's or else anyPart.
func (p kindPhrase) say(verb, object, target, anyPart string) string {
	switch {
	case p.part == "":
		return fmt.Sprintf(verb, object)
	case target != "":
		return fmt.Sprintf(verb, fmt.Sprintf("the %s %q", p.part, target), object)
	}
	return fmt.Sprintf(verb, anyPart, object)
}

// eventWords says what the user did in e, as matcherWords says what a
// user does, in the past tense: `received the push "abandoned_cart"`.
// Its ID, time and properties are left to the page, which shows them
// beside it. An event the phrases cannot say faithfully (a kind of a
// later version, a selector its kind does not take) is "": the page then
// shows its kind alone, as code.
func eventWords(e event.Event) string {
	switch e.Kind {
	case event.CustomEvent:
		if e.Name == "" || e.CampaignID != "" || e.Target != "" {
			return ""
		}
		return fmt.Sprintf("did %q (a custom event)", e.Name)
	case event.Purchase:
		switch {
		case e.CampaignID != "" || e.Target != "":
			return ""
		case e.Name != "":
			return fmt.Sprintf("bought %q", e.Name)
		}
		return "bought something"
	case event.SessionStart:
		if e.CampaignID != "" || e.Target != "" || e.Name != "" {
			return ""
		}
		return "started a session"
	}
	p, ok := kindPhrases[e.Kind]
	if !ok || e.Name != "" || (e.Target != "" && p.part == "") {
		return ""
	}
	object := article(p.thing) + " " + p.thing // an interaction names its campaign; a malformed one may not
	if e.CampaignID != "" {
		object = fmt.Sprintf("the %s %q", p.thing, e.CampaignID)
	}
	anyPart := p.anyPart
	if rest, ok := strings.CutPrefix(anyPart, "any "); ok { // one event has one
		anyPart = article(rest) + " " + rest
	}
	return p.say(p.past, object, e.Target, anyPart)
}

// article is the indefinite article of a thing the phrases name.
func article(thing string) string {
	if thing == "SMS" || strings.IndexAny(thing, "aeiou") == 0 {
		return "an"
	}
	return "a"
}
