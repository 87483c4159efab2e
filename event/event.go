// Package event defines what the engine consumes: the 19 interactions a user
// can have with a campaign, plus custom events, purchases and session
// starts, with their validation, size limits and JSON form.
//
// # Values every store keeps
//
// The memory store keeps Go values as they are, but a SQL store keeps
// identifiers as text and documents as JSON: a value one of them refuses
// would make an update fail on every retry, and a value one of them
// changes (invalid UTF-8 becomes U+FFFD in JSON) would make stores
// disagree. [Event.Validate] (and the rule package's Campaign.Validate)
// therefore reject, for every store alike, what any shipped store cannot
// keep exactly, with a [*ValidationError] wrapping [ErrUnstorable]:
//
//   - text (identifiers, names, property keys and string values, campaign
//     fields) that is not valid UTF-8 or holds a NUL byte, which
//     PostgreSQL's text and jsonb refuse ([CheckText]);
//   - numbers without a JSON form (NaN, ±Inf) or, as [json.Number],
//     without JSON's syntax ("0x10", "1_000", "NaN"), or beyond the range
//     of PostgreSQL's numeric (131072 digits before the decimal point,
//     16383 after) ([CheckValue], [CheckJSON]);
//   - times that RFC 3339 cannot write exactly ([CheckTime]), and event
//     times from [MaxTime] on;
//   - and, wrapping [ErrTooLarge], identifiers longer than [MaxIDBytes].
//
// The package imports nothing else of this module; every other package
// builds on it.
package event

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event is something a user did or that happened to them, as reported by the
// host (usually translated from a mail, push or SMS provider's webhook).
//
// Interactions name the campaign they are about; custom events and
// purchases carry a Name instead. Which fields a kind accepts is checked by
// [Event.Validate], as is what every store must keep: its text fields (ID,
// UserID, CampaignID, Target, Name) are valid UTF-8 without NUL bytes and
// at most [MaxIDBytes] long.
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
	// must be what JSON can carry and every store keeps exactly: nil,
	// bool, string (valid UTF-8 without NUL bytes, as keys must be), any Go
	// number type (finite), json.Number (a JSON number, see [CheckValue]),
	// []any and map[string]any. Decoded from JSON, numbers arrive as
	// json.Number so that they round-trip exactly.
	Properties map[string]any `json:"properties,omitempty"`
	// Time is when the event happened. Rules use it, not the arrival time:
	// it is compared with a follow-up's activation time, delays count from
	// it, and exceptions are placed by it. Zero means "now" on the
	// engine's clock; otherwise it must be before [MaxTime], in a zone
	// [CheckTime] accepts.
	Time time.Time `json:"time,omitzero"`
}

// Validate reports every problem of e as [*ValidationError] values joined
// together, or nil: missing or misplaced fields, and values that some
// store cannot keep exactly (wrapping [ErrUnstorable]: text that is not
// valid UTF-8 or holds NUL bytes, numbers without a JSON form, times
// [CheckTime] refuses or from [MaxTime] on) or identifiers over
// [MaxIDBytes] (wrapping [ErrTooLarge]). One rule serves every store, so
// an event the memory store takes is one PostgreSQL takes too. It does not
// apply the configurable size limits (see [Limits]). Properties are
// reported in the order of their names, so that the report of an event is
// the same every time.
func (e Event) Validate() error {
	info, known := lookupKind(e.Kind)
	if known && e.UserID != "" && selectorsFit(info, e.CampaignID, e.Target, e.Name) &&
		idFits(e.ID) && idFits(e.UserID) && idFits(e.CampaignID) && idFits(e.Target) && idFits(e.Name) && timeFits(e.Time) &&
		(len(e.Properties) == 0 || propertiesOK(e.Properties)) {
		return nil // the common case, decided without building a report
	}
	p := Problems{Object: "event"}
	if e.UserID == "" {
		p.Add("user_id", "required", nil)
	}
	CheckKind(&p, e.Kind)
	if known {
		checkSelectors(&p, e.Kind, info, e.CampaignID, e.Target, e.Name)
	}
	for _, f := range [...]struct{ name, v string }{
		{"id", e.ID}, {"user_id", e.UserID}, {"campaign_id", e.CampaignID}, {"target", e.Target}, {"name", e.Name},
	} {
		if reason, sentinel := checkID(f.v); reason != "" {
			p.Add(f.name, reason, sentinel)
		}
	}
	if err := CheckTime(e.Time); err != nil {
		p.Add("time", err.Error(), ErrUnstorable)
	} else if !e.Time.IsZero() && !eventTimeFits(e.Time) {
		p.Add("time", fmt.Sprintf("%s is outside 0001-01-01 to %s, UTC", e.Time.UTC().Format(time.RFC3339), MaxTime.Format(time.RFC3339)), ErrUnstorable)
	}
	if !propertiesOK(e.Properties) {
		// The report walks the properties again, by name: the same event
		// gets the same report every time.
		for _, k := range slices.Sorted(maps.Keys(e.Properties)) {
			switch err := CheckText(k); {
			case k == "":
				p.Add("properties", "empty property name", nil)
			case err != nil:
				p.Add("properties", fmt.Sprintf("property name %q %v", k, err), ErrUnstorable)
			default:
				if ve := checkValue(e.Properties[k], 0, true); ve != nil {
					p.Add("properties."+k+ve.path, ve.reason, ve.sentinel)
				}
			}
		}
	}
	return p.Err()
}

// propertiesOK reports whether Validate finds nothing wrong with props,
// walking them in map order (no sorting, nothing allocated).
func propertiesOK(props map[string]any) bool {
	for k, v := range props {
		if k == "" || !textOK(k) || checkValue(v, 0, false) != nil {
			return false
		}
	}
	return true
}

// CheckKind reports, into p under the field "kind", whether k is a kind
// this version knows; an unknown kind that looks like a misspelling names
// the kind meant. It reports whether k is known. The rule package uses it
// for triggers, exceptions and conversions, which name kinds as events do.
func CheckKind(p *Problems, k Kind) bool {
	switch {
	case k == "":
		p.Add("kind", `required: "" is an unknown event kind`, ErrUnknownKind)
		return false
	case !k.Valid():
		p.Add("kind", fmt.Sprintf("unknown kind %q%s", string(k), suggestion(string(k))), ErrUnknownKind)
		return false
	}
	return true
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
// [Event.Properties]) and every store keeps exactly: strings and object
// keys valid UTF-8 without NUL bytes, finite numbers, json.Number values
// that are JSON numbers within PostgreSQL's numeric range (see
// [CheckJSON]); nested lists and objects are checked recursively up to a
// depth of 32. The error names the path of the faulty part ("[2].price:
// …"), the first in order (list elements by index, object keys by name),
// and wraps [ErrUnstorable] when the value has the right type but no store
// can keep it.
func CheckValue(v any) error {
	if checkValue(v, 0, false) == nil {
		return nil
	}
	return checkValue(v, 0, true)
}

// valueError is CheckValue's report: where in the value, and what.
type valueError struct {
	path     string // "[2].price", or "" for the value itself
	reason   string
	sentinel error
}

func (e *valueError) Error() string {
	if e.path == "" {
		return e.reason
	}
	return strings.TrimPrefix(e.path, ".") + ": " + e.reason
}

func (e *valueError) Unwrap() error { return e.sentinel }

// checkValue returns a problem of v, nested at depth, or nil: with ordered
// set, the first one taking object keys by name, otherwise whichever the
// walk in map order meets first.
func checkValue(v any, depth int, ordered bool) *valueError {
	if depth > 32 {
		return &valueError{reason: "nested deeper than 32 levels"}
	}
	switch x := v.(type) {
	case nil, bool,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr:
		return nil
	case string:
		if err := CheckText(x); err != nil {
			return &valueError{reason: err.Error(), sentinel: ErrUnstorable}
		}
		return nil
	case json.Number:
		if err := checkNumber(string(x)); err != nil {
			return &valueError{reason: err.Error(), sentinel: ErrUnstorable}
		}
		return nil
	case float64:
		return checkFloat(x)
	case float32:
		return checkFloat(float64(x))
	case []any:
		for i, e := range x {
			if ve := checkValue(e, depth+1, ordered); ve != nil {
				ve.path = "[" + strconv.Itoa(i) + "]" + ve.path
				return ve
			}
		}
		return nil
	case map[string]any:
		if ordered {
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if ve := checkEntry(k, x[k], depth, true); ve != nil {
					return ve
				}
			}
			return nil
		}
		for k, e := range x {
			if ve := checkEntry(k, e, depth, false); ve != nil {
				return ve
			}
		}
		return nil
	default:
		return &valueError{reason: fmt.Sprintf("unsupported value type %T", v)}
	}
}

// checkEntry is checkValue for the entry k: e of an object nested at depth.
func checkEntry(k string, e any, depth int, ordered bool) *valueError {
	if err := CheckText(k); err != nil {
		return &valueError{reason: fmt.Sprintf("key %q %v", k, err), sentinel: ErrUnstorable}
	}
	if ve := checkValue(e, depth+1, ordered); ve != nil {
		ve.path = "." + k + ve.path
		return ve
	}
	return nil
}

func checkFloat(f float64) *valueError {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return &valueError{reason: fmt.Sprintf("number %v has no JSON form", f), sentinel: ErrUnstorable}
	}
	return nil
}
