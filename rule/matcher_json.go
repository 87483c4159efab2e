package rule

import (
	"bytes"
	"errors"
	"strings"

	"github.com/campaignconnector/campaignconnector/event"
)

// The JSON shapes of a trigger, an exception and a condition, as their
// decoding errors show them.
const (
	triggerShapes   = `{"kind":"email_received","campaign_id":"newsletter"}, with "target", "name" and "where" optional`
	exceptionShapes = `{"kind":"email_opened","campaign_id":"newsletter"}, with "target", "name" and "where" optional`
	conditionShapes = `{"property":"total","op":"gt","value":50}`
)

// matcherJSON is the wire form of a trigger and of an exception. It has
// no decoding of its own, so that a campaign's decoding walks into it and
// says where a problem is ("triggers[1]"), as it did before Trigger and
// Exception decoded themselves.
type matcherJSON struct {
	Kind       event.Kind      `json:"kind"`
	CampaignID string          `json:"campaign_id,omitempty"`
	Target     string          `json:"target,omitempty"`
	Name       string          `json:"name,omitempty"`
	Where      []conditionJSON `json:"where,omitempty"`
}

// conditionJSON is the wire form of a condition, without its decoding.
type conditionJSON Condition

// conditionsJSON returns cs in their wire form, nil for nil.
func conditionsJSON(cs []Condition) []conditionJSON {
	if cs == nil {
		return nil
	}
	out := make([]conditionJSON, len(cs))
	for i, c := range cs {
		out[i] = conditionJSON(c)
	}
	return out
}

// conditions returns ws as conditions, nil for nil.
func conditions(ws []conditionJSON) []Condition {
	if ws == nil {
		return nil
	}
	out := make([]Condition, len(ws))
	for i, w := range ws {
		out[i] = Condition(w)
	}
	return out
}

// matcherOf returns t (or an Exception, which has the same fields) in
// its wire form.
func matcherOf(t Trigger) matcherJSON {
	return matcherJSON{Kind: t.Kind, CampaignID: t.CampaignID, Target: t.Target, Name: t.Name, Where: conditionsJSON(t.Where)}
}

// trigger returns w as a trigger (or, converted, an exception).
func (w matcherJSON) trigger() Trigger {
	return Trigger{Kind: w.Kind, CampaignID: w.CampaignID, Target: w.Target, Name: w.Name, Where: conditions(w.Where)}
}

func triggers(ws []matcherJSON) []Trigger {
	if ws == nil {
		return nil
	}
	out := make([]Trigger, len(ws))
	for i, w := range ws {
		out[i] = w.trigger()
	}
	return out
}

func exceptions(ws []matcherJSON) []Exception {
	if ws == nil {
		return nil
	}
	out := make([]Exception, len(ws))
	for i, w := range ws {
		out[i] = Exception(w.trigger())
	}
	return out
}

// UnmarshalJSON implements [json.Unmarshaler] as a campaign decodes its
// triggers: unknown fields, unknown kinds and keys given twice are errors
// ("rule: trigger: unknown field "campain_id" (did you mean
// "campaign_id"?)"), and numbers in conditions decode as json.Number.
// As with encoding/json, the fields b does not set keep their values,
// null leaves t as it is, and a type that embeds Trigger takes this
// decoding, its own fields being unknown ones. A failed decoding leaves t
// as it is. Decoding does not validate: call [Trigger.Validate].
func (t *Trigger) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	w := matcherOf(*t)
	if err := decodeMatcher(b, &w, "trigger", triggerShapes); err != nil {
		return err
	}
	*t = w.trigger()
	return nil
}

// UnmarshalJSON implements [json.Unmarshaler] as [Trigger.UnmarshalJSON]
// does, its errors saying "exception".
func (x *Exception) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	w := matcherOf(Trigger(*x))
	if err := decodeMatcher(b, &w, "exception", exceptionShapes); err != nil {
		return err
	}
	*x = Exception(w.trigger())
	return nil
}

// UnmarshalJSON implements [json.Unmarshaler] as a campaign decodes its
// conditions: unknown fields and keys given twice are errors, and a
// number in Value decodes as json.Number. As with encoding/json, the
// fields b does not set keep their values, null leaves c as it is, and a
// type that embeds Condition takes this decoding. A failed decoding
// leaves c as it is; its errors wrap [ErrInvalidCondition] (see there).
// Decoding does not validate: call [Condition.Validate].
func (c *Condition) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	w := conditionJSON(*c)
	if err := decode(b, &w, "condition", conditionShapes, nil); err != nil {
		return withSentinel(err, "condition", ErrInvalidCondition)
	}
	*c = Condition(w)
	return nil
}

// decodeMatcher decodes a trigger or an exception, naming the field an
// unknown kind is about ("rule: trigger: kind: unknown event kind …").
func decodeMatcher(b []byte, w *matcherJSON, what, shapes string) error {
	err := decode(b, w, what, shapes, nil)
	var de *decodeError
	if errors.As(err, &de) && de.path == what && errors.Is(err, event.ErrUnknownKind) {
		err = &decodeError{path: what + ": kind", msg: strings.TrimPrefix(de.msg, "event: "), err: de.err}
	}
	return withSentinel(err, what, nil)
}

// isNull reports whether JSON value b is null.
func isNull(b []byte) bool { return bytes.Equal(bytes.TrimSpace(b), []byte("null")) }
