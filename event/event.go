// Package event defines what the engine consumes: the 19 interactions a user
// can have with a campaign (SPEC.md R1), plus custom events, purchases and
// session starts, with their validation, size limits and JSON form.
//
// The package imports nothing else of this module; every other package
// builds on it.
package event

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Event is something a user did or that happened to them, as reported by the
// host (usually translated from a mail, push or SMS provider's webhook).
//
// Interactions name the campaign they are about; custom events and
// purchases carry a Name instead. Which fields a kind accepts is checked by
// [Event.Validate].
type Event struct {
	// ID identifies the event for deduplication: an ID already processed
	// for the same user inside the engine's dedup window is ignored.
	// Providers' own event ids are ideal. Empty disables deduplication.
	ID string `json:"id,omitempty"`
	// UserID is the host's identifier of the user. Required.
	UserID string `json:"user_id"`
	// Kind is what happened. Required.
	Kind Kind `json:"kind"`
	// CampaignID is the campaign interacted with: required for
	// interactions, forbidden for other kinds.
	CampaignID string `json:"campaign_id,omitempty"`
	// Target is the interaction's sub-selector: a button id, link alias,
	// story page id or conversion event id. Only kinds with a sub-selector
	// ([Kind.HasTarget]) accept it.
	Target string `json:"target,omitempty"`
	// Name is the custom event's name (required for [CustomEvent]) or the
	// purchased product's id (optional for [Purchase]).
	Name string `json:"name,omitempty"`
	// Properties are free-form attributes that conditions can test. Values
	// must be what JSON can carry: nil, bool, string, any Go number type
	// (finite), json.Number, []any and map[string]any. Decoded from JSON,
	// numbers arrive as json.Number so that they round-trip exactly.
	Properties map[string]any `json:"properties,omitempty"`
	// Time is when the event happened. Rules use it, not the arrival time
	// (SPEC.md R3, R5). Zero means "now" on the engine's clock.
	Time time.Time `json:"time,omitzero"`
}

// Validate reports every structural problem of e as [*ValidationError]s
// joined together, or nil. It does not apply size limits (see [Limits]).
func (e Event) Validate() error {
	info, known := lookupKind(e.Kind)
	if known && e.UserID != "" && len(e.Properties) == 0 && selectorsFit(info, e.CampaignID, e.Target, e.Name) {
		return nil // the common case, decided without building a report
	}
	p := Problems{Object: "event"}
	if e.UserID == "" {
		p.Add("user_id", "required", nil)
	}
	switch {
	case e.Kind == "":
		p.Add("kind", "required", ErrUnknownKind)
	case !known:
		p.Add("kind", fmt.Sprintf("unknown kind %q", string(e.Kind)), ErrUnknownKind)
	}
	if known {
		checkSelectors(&p, e.Kind, info, e.CampaignID, e.Target, e.Name)
	}
	for k, v := range e.Properties {
		if k == "" {
			p.Add("properties", "empty property name", nil)
		}
		if err := CheckValue(v); err != nil {
			p.Add("properties."+k, err.Error(), nil)
		}
	}
	return p.Err()
}

// CheckSelectors reports, into p, whether campaignID, target and name suit
// kind k. The rule package uses it for triggers and exceptions, which select
// events with the same fields.
func CheckSelectors(p *Problems, k Kind, campaignID, target, name string) {
	if info, ok := lookupKind(k); ok {
		checkSelectors(p, k, info, campaignID, target, name)
	}
}

// selectorsFit reports whether checkSelectors would find nothing wrong.
func selectorsFit(info kindInfo, campaignID, target, name string) bool {
	return info.interaction == (campaignID != "") && (target == "" || info.target != "") &&
		(name != "" || !info.needsName) && (name == "" || info.name != "")
}

func checkSelectors(p *Problems, k Kind, info kindInfo, campaignID, target, name string) {
	switch {
	case info.interaction && campaignID == "":
		p.Add("campaign_id", fmt.Sprintf("required for %s", k), nil)
	case !info.interaction && campaignID != "":
		p.Add("campaign_id", fmt.Sprintf("only interactions name a campaign, not %s", k), nil)
	}
	if target != "" && info.target == "" {
		p.Add("target", fmt.Sprintf("%s has no sub-selector", k), nil)
	}
	switch {
	case info.needsName && name == "":
		p.Add("name", fmt.Sprintf("required for %s (the %s)", k, info.name), nil)
	case name != "" && info.name == "":
		p.Add("name", fmt.Sprintf("%s has no name", k), nil)
	}
}

// CheckValue reports whether v is a value a property may hold (see
// [Event.Properties]); nested lists and objects are checked recursively up
// to a depth of 32.
func CheckValue(v any) error { return checkValue(v, 0) }

func checkValue(v any, depth int) error {
	if depth > 32 {
		return fmt.Errorf("nested deeper than 32 levels")
	}
	switch x := v.(type) {
	case nil, bool, string, json.Number,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr:
		return nil
	case float64:
		return checkFloat(x)
	case float32:
		return checkFloat(float64(x))
	case []any:
		for _, e := range x {
			if err := checkValue(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		for _, e := range x {
			if err := checkValue(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("unsupported value type %T", v)
	}
}

func checkFloat(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("number %v has no JSON form", f)
	}
	return nil
}
