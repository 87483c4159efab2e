package event

import (
	"fmt"
	"slices"
	"strings"

	"github.com/campaignconnector/campaignconnector/internal/editdist"
)

// Kind names what happened. Its value is the stable wire name used in JSON,
// logs and stores, so a Kind stored today still reads back when
// later versions add kinds: only unknown names are rejected, never renumbered.
type Kind string

// The 19 interactions a user can have with a campaign, in their documented
// order (the order [Interactions] returns). Each names the campaign it is
// about in [Event.CampaignID].
const (
	InAppMessageViewed        Kind = "in_app_message_viewed"
	InAppMessageClicked       Kind = "in_app_message_clicked"
	InAppMessageButtonClicked Kind = "in_app_message_button_clicked" // Target: button id
	EmailClicked              Kind = "email_clicked"                 // any link
	EmailAliasClicked         Kind = "email_alias_clicked"           // Target: link alias
	EmailOpened               Kind = "email_opened"
	PushOpened                Kind = "push_opened"
	PushButtonClicked         Kind = "push_button_clicked"     // Target: button id
	PushStoryPageClicked      Kind = "push_story_page_clicked" // Target: page id
	ConversionPerformed       Kind = "conversion_performed"    // Target: conversion event id
	EmailReceived             Kind = "email_received"
	SMSReceived               Kind = "sms_received"
	SMSLinkClicked            Kind = "sms_link_clicked"
	PushReceived              Kind = "push_received"
	WebhookReceived           Kind = "webhook_received"
	ControlGroupEnrolled      Kind = "control_group_enrolled"
	ContentCardViewed         Kind = "content_card_viewed"
	ContentCardClicked        Kind = "content_card_clicked"
	ContentCardDismissed      Kind = "content_card_dismissed"
)

// Events that are not about a campaign. They carry no CampaignID; custom
// events and purchases are told apart by [Event.Name].
const (
	CustomEvent  Kind = "custom_event" // Name: the event's name (required)
	Purchase     Kind = "purchase"     // Name: the product id (optional)
	SessionStart Kind = "session_start"
)

// Channel is the messaging channel an interaction belongs to, or that a
// follow-up is sent on. Its value is a stable wire name.
type Channel string

// The channels interactions belong to and follow-ups are sent on.
const (
	Email       Channel = "email"
	Push        Channel = "push"
	SMS         Channel = "sms"
	InApp       Channel = "in_app"
	ContentCard Channel = "content_card"
	Webhook     Channel = "webhook"
)

// kindInfo is what the engine knows about a kind beyond its name.
type kindInfo struct {
	channel     Channel
	interaction bool   // names a campaign
	target      string // what Target selects; "" when the kind has no sub-selector
	name        string // what Name holds; "" when the kind has none
	needsName   bool
}

var kinds = map[Kind]kindInfo{
	InAppMessageViewed:        {channel: InApp, interaction: true},
	InAppMessageClicked:       {channel: InApp, interaction: true},
	InAppMessageButtonClicked: {channel: InApp, interaction: true, target: "button id"},
	EmailClicked:              {channel: Email, interaction: true},
	EmailAliasClicked:         {channel: Email, interaction: true, target: "link alias"},
	EmailOpened:               {channel: Email, interaction: true},
	PushOpened:                {channel: Push, interaction: true},
	PushButtonClicked:         {channel: Push, interaction: true, target: "button id"},
	PushStoryPageClicked:      {channel: Push, interaction: true, target: "page id"},
	ConversionPerformed:       {interaction: true, target: "conversion event id"},
	EmailReceived:             {channel: Email, interaction: true},
	SMSReceived:               {channel: SMS, interaction: true},
	SMSLinkClicked:            {channel: SMS, interaction: true},
	PushReceived:              {channel: Push, interaction: true},
	WebhookReceived:           {channel: Webhook, interaction: true},
	ControlGroupEnrolled:      {interaction: true},
	ContentCardViewed:         {channel: ContentCard, interaction: true},
	ContentCardClicked:        {channel: ContentCard, interaction: true},
	ContentCardDismissed:      {channel: ContentCard, interaction: true},
	CustomEvent:               {name: "event name", needsName: true},
	Purchase:                  {name: "product id"},
	SessionStart:              {},
}

// kindTable finds a kind's info faster than the map: an open-addressing
// table indexed by the name's length and end bytes, which the 22 names
// share rarely; built from kinds at init.
var kindTable = func() (t [kindTableSize]struct {
	kind Kind
	info kindInfo
}) {
	for k, info := range kinds {
		i := kindSlot(k)
		for t[i].kind != "" {
			i = (i + 1) % kindTableSize
		}
		t[i].kind, t[i].info = k, info
	}
	return t
}()

func kindSlot(k Kind) int {
	return (len(k)*5 + int(k[0]) + int(k[len(k)-1])*3) % kindTableSize
}

const kindTableSize = 64

// lookupKind returns what is known of k, and whether k is known.
func lookupKind(k Kind) (kindInfo, bool) {
	if k == "" {
		return kindInfo{}, false
	}
	for i := kindSlot(k); kindTable[i].kind != ""; i = (i + 1) % kindTableSize {
		if kindTable[i].kind == k {
			return kindTable[i].info, true
		}
	}
	return kindInfo{}, false
}

var interactions = []Kind{
	InAppMessageViewed, InAppMessageClicked, InAppMessageButtonClicked,
	EmailClicked, EmailAliasClicked, EmailOpened,
	PushOpened, PushButtonClicked, PushStoryPageClicked,
	ConversionPerformed, EmailReceived, SMSReceived, SMSLinkClicked,
	PushReceived, WebhookReceived, ControlGroupEnrolled,
	ContentCardViewed, ContentCardClicked, ContentCardDismissed,
}

var channels = []Channel{Email, Push, SMS, InApp, ContentCard, Webhook}

// Interactions returns the 19 interaction kinds in their documented order.
// The slice is a fresh copy.
func Interactions() []Kind { return slices.Clone(interactions) }

// Kinds returns every kind this version knows: the interactions followed by
// the non-campaign events. The slice is a fresh copy.
func Kinds() []Kind {
	return append(slices.Clone(interactions), CustomEvent, Purchase, SessionStart)
}

// ParseKind returns the kind with wire name s, or an error wrapping
// [ErrUnknownKind].
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if _, ok := lookupKind(k); !ok {
		return "", fmt.Errorf("event: %w %q%s", ErrUnknownKind, s, suggestion(s))
	}
	return k, nil
}

// Valid reports whether k is a kind this version knows.
func (k Kind) Valid() bool {
	_, ok := lookupKind(k)
	return ok
}

// IsInteraction reports whether k is one of the 19 interactions, which are
// about a campaign and must name it.
func (k Kind) IsInteraction() bool { info, _ := lookupKind(k); return info.interaction }

// HasTarget reports whether events of kind k carry a sub-selector in
// [Event.Target] (a button id, link alias, story page or conversion id).
func (k Kind) HasTarget() bool { info, _ := lookupKind(k); return info.target != "" }

// HasName reports whether events of kind k carry [Event.Name] (custom
// events and purchases).
func (k Kind) HasName() bool { info, _ := lookupKind(k); return info.name != "" }

// Channel returns the channel an interaction belongs to, or "" for
// kinds that belong to no single channel (conversions, control groups,
// non-campaign events).
func (k Kind) Channel() Channel { info, _ := lookupKind(k); return info.channel }

// String returns the wire name.
func (k Kind) String() string { return string(k) }

// MarshalText implements [encoding.TextMarshaler]; an unknown kind is an error.
func (k Kind) MarshalText() ([]byte, error) {
	if !k.Valid() {
		return nil, fmt.Errorf("event: %w %q", ErrUnknownKind, string(k))
	}
	return []byte(k), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]; an unknown wire name
// is an error wrapping [ErrUnknownKind].
func (k *Kind) UnmarshalText(b []byte) error {
	parsed, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = parsed
	return nil
}

// Channels returns the six channels. The slice is a fresh copy.
func Channels() []Channel { return slices.Clone(channels) }

// ParseChannel returns the channel with wire name s, or an error wrapping
// [ErrUnknownChannel].
func ParseChannel(s string) (Channel, error) {
	c := Channel(s)
	if !c.Valid() {
		return "", fmt.Errorf("event: %w %q%s", ErrUnknownChannel, s, channelSuggestion(s))
	}
	return c, nil
}

// channelSuggestion is ` (did you mean "c"?)` when channel name s looks
// like a misspelling of channel c (a different case, or at most two
// letters added, dropped, changed or swapped), else "".
func channelSuggestion(s string) string {
	best, bestD := Channel(""), 3
	for _, c := range channels {
		if strings.EqualFold(s, string(c)) {
			best = c
			break
		}
		if len(s) > len(c)+2 || len(c) > len(s)+2 {
			continue // the length alone takes more than two edits
		}
		if d := editdist.AtMost(s, string(c), 2); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", string(best))
}

// Valid reports whether c is one of the six channels.
func (c Channel) Valid() bool { return slices.Contains(channels, c) }

// UnmarshalText implements [encoding.TextUnmarshaler]; the empty string is
// accepted (no channel), any other unknown name is an error.
func (c *Channel) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*c = ""
		return nil
	}
	parsed, err := ParseChannel(string(b))
	if err != nil {
		return err
	}
	*c = parsed
	return nil
}

// closestKind returns the known kind nearest to s, a name that is not
// one, when s looks like a misspelling of it (at most two letters added,
// dropped, changed or swapped, or a different case), or else like it with
// a word left out or added ("sms_clicked" for "sms_link_clicked"), or
// else names it in a provider's words ("email_delivered" for
// "email_received"), else "".
func closestKind(s string) Kind {
	if len(s) > maxKindLen+2 {
		return "" // more than two edits from every kind
	}
	best, bestD := Kind(""), 3
	for _, k := range allKinds {
		if len(s) > len(k)+2 || len(k) > len(s)+2 {
			continue // the length alone takes more than two edits
		}
		if strings.EqualFold(s, string(k)) {
			return k
		}
		if d := editdist.AtMost(s, string(k), 2); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return best
	}
	if k := kindByWords(s); k != "" {
		return k
	}
	return kindBySynonym(s)
}

// providerWords maps the words providers' reports use to those of the
// kinds that may mean the same: a provider's "delivered" is a receipt, an
// impression a view, a click on a push notification its opening, and a
// tap an opening or a click (a tap on a push is push_opened, on a push's
// button push_button_clicked, on a content card content_card_clicked).
var providerWords = map[string][]string{
	"delivered":  {"received"},
	"delivery":   {"received"},
	"impression": {"viewed"},
	"tapped":     {"opened", "clicked"},
	"tap":        {"opened", "clicked"},
	"clicked":    {"opened"},
	"click":      {"opened"},
}

// kindBySynonym returns the one kind s names in a provider's words
// ("email_delivered" for "email_received", "push_clicked" for
// "push_opened", "push_button_tapped" for "push_button_clicked"), else
// "". Two such kinds suggest neither: "email_tapped" may mean an open or
// a click on a link.
func kindBySynonym(s string) Kind {
	words := strings.Split(strings.ToLower(s), "_")
	found := Kind("")
	for _, k := range allKinds {
		if !synonymWords(words, strings.Split(string(k), "_")) {
			continue
		}
		if found != "" {
			return ""
		}
		found = k
	}
	return found
}

// synonymWords reports whether the words of kind kw are words, one for
// one, with one of them at least written in a provider's words
// (providerWords).
func synonymWords(words, kw []string) bool {
	if len(words) != len(kw) {
		return false
	}
	changed := false
	for i, w := range words {
		switch {
		case w == kw[i]:
		case slices.Contains(providerWords[w], kw[i]):
			changed = true
		default:
			return false
		}
	}
	return changed
}

// kindByWords returns the one kind whose words, separated by "_", are
// s's with one or two words added or left out, all others in order
// ("sms_clicked" for "sms_link_clicked"), else "". Two such kinds suggest
// neither: "in_app_clicked" may mean a click on the message or on one of
// its buttons.
func kindByWords(s string) Kind {
	words := strings.Split(strings.ToLower(s), "_")
	if len(words) < 2 {
		return "" // one word, which too many kinds hold
	}
	found := Kind("")
	for _, k := range allKinds {
		kw := strings.Split(string(k), "_")
		short, long := words, kw
		if len(short) > len(long) {
			short, long = long, short
		}
		if d := len(long) - len(short); d < 1 || d > 2 || !isSubsequence(short, long) {
			continue
		}
		if found != "" {
			return ""
		}
		found = k
	}
	return found
}

// isSubsequence reports whether every word of short is in long, in the
// same order.
func isSubsequence(short, long []string) bool {
	i := 0
	for _, w := range long {
		if i < len(short) && short[i] == w {
			i++
		}
	}
	return i == len(short)
}

// allKinds and maxKindLen serve closestKind without a copy per call.
var (
	allKinds   = Kinds()
	maxKindLen = len(slices.MaxFunc(allKinds, func(a, b Kind) int { return len(a) - len(b) }))
)

// suggestion is ` (did you mean "k"?)` when kind name s looks like a
// misspelling of kind k, else "".
func suggestion(s string) string {
	if k := closestKind(s); k != "" {
		return fmt.Sprintf(" (did you mean %q?)", string(k))
	}
	return ""
}
