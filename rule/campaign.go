// Package rule holds campaign definitions and the pure logic that evaluates
// them: triggers and exceptions that select events, property conditions,
// schedule delays with their calendar arithmetic, re-eligibility, the
// lifecycle states, and the decisions the engine records.
//
// Nothing here reads a clock: every function that needs the time takes it
// as an argument, so rules can be tested and simulated deterministically.
package rule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

// MaxIDLength is the longest campaign ID accepted, in bytes.
const MaxIDLength = 256

// Campaign is a message definition. An original (no Triggers) is sent by the
// host itself and registered so follow-ups can name it; a follow-up has
// triggers, and the engine decides when it is due for whom.
//
// The zero values are the defaults: a zero Delay sends immediately, a zero
// Reeligibility sends once only. Campaigns are validated by [Campaign.Validate];
// the engine also checks that triggers name campaigns it knows.
type Campaign struct {
	// ID identifies the campaign; required, at most MaxIDLength bytes.
	ID string `json:"id"`
	// Triggers make the follow-up due; any one matching is enough (OR).
	// None: an original, sent by the host.
	Triggers []Trigger `json:"triggers,omitempty"`
	// Delay is how long after the trigger event the follow-up is due.
	Delay Delay `json:"delay,omitzero"`
	// Exceptions cancel a pending delivery while the user waits for it.
	// They need a non-immediate Delay.
	Exceptions []Exception `json:"exceptions,omitempty"`
	// Reeligibility says whether a user may receive the follow-up again.
	Reeligibility Reeligibility `json:"reeligibility,omitzero"`
	// Start and End bound the campaign's duration (zero: unbounded): the
	// trigger must occur at or after Start and the due time must be
	// strictly before End. End is checked when a delivery is scheduled,
	// not when it is sent: a retry, allowed lateness or a deferral (send
	// window, quiet hours, rate limit) may send it after End.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Audience is a segment name the host resolves; the user must be in it
	// when the trigger is processed. "" means all users.
	Audience string `json:"audience,omitempty"`
	// Message is opaque to the engine and handed to the sender with each
	// delivery, as it is at send time. It must be valid JSON when set, and
	// JSON every store keeps ([event.CheckJSON]).
	Message json.RawMessage `json:"message,omitempty"`

	// Channel is the channel the follow-up is sent on; frequency caps per
	// channel and the deliveries' Channel use it. "" counts only for caps
	// on any channel.
	Channel event.Channel `json:"channel,omitempty"`
	// ControlPercent, 0–100, is the share of triggered users held out as a
	// control group: at the due time they get nothing, count as having
	// received the follow-up, and the engine emits control_group_enrolled
	// for it. Membership is a stable hash of user and campaign
	// ([ControlBucket]), settled when a delivery is scheduled: an edit
	// applies to deliveries scheduled after it.
	ControlPercent int `json:"control_percent,omitempty"`
	// RecheckAudience checks the audience again at send time (it is always
	// checked when the trigger is processed).
	RecheckAudience bool `json:"recheck_audience,omitempty"`
	// SendWindow restricts deliveries to wall-clock hours of the user's
	// zone; nil: any time.
	SendWindow *SendWindow `json:"send_window,omitempty"`
	// Conversions are up to 4 conversion events ([Conversion]).
	Conversions []Conversion `json:"conversions,omitempty"`
	// PendingPolicy says what a trigger does while the user already waits
	// for this follow-up. Zero: keep the first.
	PendingPolicy PendingPolicy `json:"pending_policy,omitempty"`
	// RateLimit caps this follow-up's deliveries per minute, across every
	// engine of the namespace; excess deliveries wait for the next minute.
	// A held-out delivery, or one a frequency cap drops, takes no slot.
	// Zero: unlimited.
	RateLimit int `json:"rate_limit,omitempty"`
	// IgnoreFrequencyCaps exempts this follow-up from the engine's
	// frequency caps: its deliveries are neither capped nor counted.
	IgnoreFrequencyCaps bool `json:"ignore_frequency_caps,omitempty"`
}

// IsFollowUp reports whether c has triggers.
func (c *Campaign) IsFollowUp() bool { return len(c.Triggers) > 0 }

// Validate reports every problem of c as [*ValidationError] values joined with
// errors.Join, or nil. Field paths follow the JSON form
// ("triggers[1].campaign_id"). It checks c alone: whether the campaigns its
// triggers name exist is the engine's check. Like [event.Event.Validate],
// it rejects what some store cannot keep exactly, wrapping
// [event.ErrUnstorable]: text (IDs, names, targets, audience, condition
// properties and values) that is not valid UTF-8 or holds NUL bytes,
// numbers without a JSON form, a Message [event.CheckJSON] refuses, and
// Start or End times [event.CheckTime] refuses.
func (c Campaign) Validate() error {
	p := event.Problems{Object: "campaign"}
	switch {
	case c.ID == "":
		p.Add("id", "required", nil)
	case len(c.ID) > MaxIDLength:
		p.Add("id", fmt.Sprintf("%d bytes, limit %d", len(c.ID), MaxIDLength), nil)
	}
	addText(&p, "id", c.ID)
	addText(&p, "audience", c.Audience)
	for i, t := range c.Triggers {
		field := fmt.Sprintf("triggers[%d]", i)
		p.AddErr(field, t.Validate())
		if t.CampaignID != "" && t.CampaignID == c.ID {
			p.Add(field+".campaign_id", fmt.Sprintf("%q is this campaign", c.ID), ErrSelfTrigger)
		}
	}
	for i, x := range c.Exceptions {
		p.AddErr(fmt.Sprintf("exceptions[%d]", i), x.Validate())
	}
	if len(c.Exceptions) > 0 && c.Delay.IsZero() {
		p.Add("exceptions", "an immediate follow-up has no wait to cancel", ErrExceptionWithoutDelay)
	}
	if len(c.Exceptions) > 0 && len(c.Triggers) == 0 {
		p.Add("exceptions", "only follow-ups (with triggers) have exceptions", nil)
	}
	p.AddErr("delay", c.Delay.Validate())
	p.AddErr("reeligibility", c.Reeligibility.Validate())
	if !c.Start.IsZero() && !c.End.IsZero() && !c.End.After(c.Start) {
		p.Add("end", fmt.Sprintf("%s is not after start %s", c.End.Format(time.RFC3339), c.Start.Format(time.RFC3339)), nil)
	}
	for _, f := range [...]struct {
		name string
		t    time.Time
	}{{"start", c.Start}, {"end", c.End}} {
		if err := event.CheckTime(f.t); err != nil {
			p.Add(f.name, err.Error(), event.ErrUnstorable)
		}
	}
	if len(c.Message) > 0 {
		switch err := event.CheckJSON(c.Message); {
		case err == nil:
		case !json.Valid(c.Message):
			p.Add("message", "not valid JSON", nil)
		default:
			p.Add("message", err.Error(), event.ErrUnstorable)
		}
	}
	c.validateControls(&p)
	return p.Err()
}

func (c *Campaign) validateControls(p *event.Problems) {
	if c.Channel != "" && !c.Channel.Valid() {
		_, err := event.ParseChannel(string(c.Channel)) // its text suggests a channel a misspelt one is near
		p.Add("channel", strings.TrimPrefix(err.Error(), "event: "), event.ErrUnknownChannel)
	}
	if c.ControlPercent < 0 || c.ControlPercent > 100 {
		p.Add("control_percent", fmt.Sprintf("%d is outside [0, 100]", c.ControlPercent), nil)
	}
	if c.ControlPercent > 0 && !c.IsFollowUp() {
		p.Add("control_percent", "only follow-ups (with triggers) have control groups", nil)
	}
	if c.RecheckAudience && c.Audience == "" {
		p.Add("recheck_audience", "needs an audience", nil)
	}
	p.AddErr("send_window", c.SendWindow.Validate())
	if len(c.Conversions) > MaxConversions {
		p.Add("conversions", fmt.Sprintf("%d conversion events, at most %d", len(c.Conversions), MaxConversions), nil)
	}
	seen := map[string]bool{}
	for i, cv := range c.Conversions {
		field := fmt.Sprintf("conversions[%d]", i)
		p.AddErr(field, cv.Validate())
		if seen[cv.ID] {
			p.Add(field+".id", fmt.Sprintf("%q declared twice", cv.ID), nil)
		}
		seen[cv.ID] = true
	}
	if !c.PendingPolicy.Valid() {
		p.Add("pending_policy", fmt.Sprintf("unknown policy %q", string(c.PendingPolicy)), nil)
	}
	if c.RateLimit < 0 {
		p.Add("rate_limit", fmt.Sprintf("%d is negative", c.RateLimit), nil)
	}
}

// Clone returns a deep copy of c, so a definition handed to the engine
// cannot be changed behind its back.
func (c Campaign) Clone() Campaign {
	out := c
	out.Triggers = make([]Trigger, len(c.Triggers))
	for i, t := range c.Triggers {
		t.Where = cloneConditions(t.Where)
		out.Triggers[i] = t
	}
	if c.Triggers == nil {
		out.Triggers = nil
	}
	if c.Exceptions != nil {
		out.Exceptions = make([]Exception, len(c.Exceptions))
		for i, x := range c.Exceptions {
			x.Where = cloneConditions(x.Where)
			out.Exceptions[i] = x
		}
	}
	if c.Message != nil {
		out.Message = append(json.RawMessage(nil), c.Message...)
	}
	if c.SendWindow != nil {
		w := *c.SendWindow
		w.Days = slices.Clone(w.Days)
		out.SendWindow = &w
	}
	if c.Conversions != nil {
		out.Conversions = make([]Conversion, len(c.Conversions))
		for i, cv := range c.Conversions {
			cv.Where = cloneConditions(cv.Where)
			out.Conversions[i] = cv
		}
	}
	return out
}

func cloneConditions(cs []Condition) []Condition {
	if cs == nil {
		return nil
	}
	out := make([]Condition, len(cs))
	for i, c := range cs {
		if list, ok := c.Value.([]any); ok {
			c.Value = append([]any(nil), list...)
		}
		out[i] = c
	}
	return out
}

// UnmarshalJSON implements [json.Unmarshaler] strictly: unknown fields and
// unknown kinds are errors (a misspelt field in a hand-written definition
// must not be ignored; the error says where it is and names the field it
// most likely misspells, "rate_limit" for "rate_limt" or "rateLimit",
// "campaign_id" for a trigger's "campain_id"), so is a field given twice
// in one object, by the same key or by keys that differ in case (a
// [*DuplicateKeyError]), and numbers in conditions decode as json.Number.
// Text that encoding/json would read as U+FFFD (bytes that are not UTF-8,
// an unpaired surrogate escape) is an error naming its field, wrapping
// [event.ErrUnstorable], rather than an ID other than the one written; a
// message keeps its bytes as written. Decoding does not otherwise
// validate: call [Campaign.Validate]. What a store
// wrote, which a newer version may have written, decodes with
// [DecodeStoredCampaign].
func (c *Campaign) UnmarshalJSON(b []byte) error {
	var p campaignJSON
	if err := decode(b, &p, "campaign", campaignShapes, nil); err != nil {
		return withSentinel(placeCampaignError(b, err), "campaign", nil)
	}
	*c = Campaign(p.plainCampaign)
	c.Triggers, c.Exceptions = triggers(p.Triggers), exceptions(p.Exceptions)
	return nil
}

// placeCampaignError returns err, an error decoding campaign b, with
// the field it is about named where encoding/json does not name it: a
// time's, a kind's, a conversion's.
func placeCampaignError(b []byte, err error) error {
	var de *decodeError
	if errors.As(err, &de) {
		switch de.path {
		case "campaign": // no field named: a time's or a kind's own error?
			return whichConversion(b, badKind(b, badTime(b, err)))
		case "campaign: conversion": // which conversion's kind?
			return whichConversion(b, badKind(b, err))
		}
		if strings.HasPrefix(de.path, "campaign: conversion: ") {
			return whichConversion(b, err)
		}
	}
	return err
}

// campaignJSON is the wire form of a campaign: its triggers and
// exceptions are decoded as part of it (see matcherJSON), the rest as
// Campaign's own fields.
type campaignJSON struct {
	Triggers   []matcherJSON `json:"triggers,omitempty"`
	Exceptions []matcherJSON `json:"exceptions,omitempty"`
	plainCampaign
}

// plainCampaign is a Campaign without its methods.
type plainCampaign Campaign

// badTime returns the error of campaign b's start or end time, naming
// its field, if one is malformed; else err. (encoding/json does not say
// which field a time's own error is about.)
func badTime(b []byte, err error) error {
	var times struct {
		Start json.RawMessage `json:"start"`
		End   json.RawMessage `json:"end"`
	}
	if json.Unmarshal(b, &times) == nil {
		for _, f := range []struct {
			name string
			raw  json.RawMessage
		}{{"start", times.Start}, {"end", times.End}} {
			if err := decodeTime(f.raw, "campaign: "+f.name); err != nil {
				return err
			}
		}
	}
	return err
}

// listName returns the field of a campaign, among those that list items
// with a kind, that encoding/json decodes key into (it matches keys
// without regard to case, folding "ſ" to "s" and "K" to "k"), or "".
func listName(key string) string {
	for _, name := range []string{"triggers", "exceptions", "conversions"} {
		if strings.EqualFold(key, name) {
			return name
		}
	}
	return ""
}

// badKind returns err, for an unknown event kind or channel of campaign b,
// with the field it is about named (encoding/json does not say which
// trigger's, exception's or conversion's kind it is): "campaign:
// triggers[1].kind". The field is the first, in the order of b, whose
// value fails as err does, so that the name and the text go with err's own
// value. Other errors, and an unknown value it cannot place, are returned
// as they are.
func badKind(b []byte, err error) error {
	var de *decodeError
	if !errors.As(err, &de) || de.err == nil {
		return err
	}
	kind, channel := errors.Is(err, event.ErrUnknownKind), errors.Is(err, event.ErrUnknownChannel)
	if !kind && !channel {
		return err
	}
	want := de.err.Error()
	same := func(raw json.RawMessage, v any) (error, bool) {
		bad := json.Unmarshal(raw, v)
		return bad, bad != nil && bad.Error() == want
	}
	var path string
	var bad error
	// Keys are read in the order of b, duplicates included, as the
	// decoder reads them: the first value that fails is the one it
	// failed on.
	eachKey(b, func(key string, raw json.RawMessage) bool {
		switch {
		case channel && strings.EqualFold(key, "channel"):
			var c event.Channel
			if e, ok := same(raw, &c); ok {
				path, bad = "channel", e
			}
		case kind && listName(key) != "":
			var items []json.RawMessage
			if json.Unmarshal(raw, &items) != nil {
				return true
			}
			for i, it := range items {
				eachKey(it, func(k string, v json.RawMessage) bool {
					if !strings.EqualFold(k, "kind") {
						return true
					}
					var kd event.Kind
					if e, ok := same(v, &kd); ok {
						path, bad = fmt.Sprintf("%s[%d].kind", listName(key), i), e
					}
					return bad == nil
				})
				if bad != nil {
					break
				}
			}
		}
		return bad == nil
	})
	if bad == nil {
		return err
	}
	placedErr := &decodeError{path: "campaign: " + path, msg: strings.TrimPrefix(bad.Error(), "event: "), err: err}
	var ve *ValidationError
	if strings.HasPrefix(path, "conversions[") && errors.As(err, &ve) && ve.Field != "kind" {
		// The conversion's own error is about another of its fields
		// (an unknown one): the kind's is bad.
		placedErr.err = &problemCause{&ValidationError{Object: "conversion", Field: "kind", Reason: bad.Error()}, bad}
	}
	return placedErr
}

// whichConversion returns err, an error of one of campaign b's conversions
// (its path "campaign: conversion" or under it: encoding/json does not say
// which conversion), with the conversion named by its place in the list:
// "campaign: conversions[1]: where[0]", "campaign: conversions[1]:
// deadline". It is
// the first, in the order of b, whose own decoding fails with err's text.
// An error it cannot place, or one already placed (a kind, see badKind),
// is returned as it is.
func whichConversion(b []byte, err error) error {
	var (
		de    *decodeError
		want  string                       // the conversion's own error
		place func(at string) *decodeError // err, at the conversion at
	)
	switch {
	case !errors.As(err, &de):
		return err
	case de.path == "campaign: conversion" || strings.HasPrefix(de.path, "campaign: conversion: "):
		want = "rule: " + strings.TrimPrefix(de.Error(), "rule: campaign: ")
		place = func(at string) *decodeError {
			return placed("campaign: "+at+strings.TrimPrefix(de.path, "campaign: conversion"), de.msg, de.err)
		}
	default:
		return err
	}
	var at string
	eachKey(b, func(key string, raw json.RawMessage) bool {
		var items []json.RawMessage
		if listName(key) != "conversions" || json.Unmarshal(raw, &items) != nil {
			return true
		}
		for i, it := range items {
			var cv Conversion
			if e := json.Unmarshal(it, &cv); e != nil && e.Error() == want {
				at = fmt.Sprintf("conversions[%d]", i)
				return false
			}
		}
		return true
	})
	if at == "" {
		return err
	}
	return place(at)
}

// eachKey calls fn with each key of JSON object b and its value, in the
// order of b, duplicates included, until fn returns false. It does
// nothing more after what is not an object or not well formed.
func eachKey(b []byte, fn func(key string, raw json.RawMessage) bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return
	}
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		var raw json.RawMessage
		if err != nil || !ok || dec.Decode(&raw) != nil || !fn(key, raw) {
			return
		}
	}
}

// addText records that field's value s is text no store keeps exactly.
func addText(p *event.Problems, field, s string) {
	if err := event.CheckText(s); err != nil {
		p.Add(field, err.Error(), event.ErrUnstorable)
	}
}
