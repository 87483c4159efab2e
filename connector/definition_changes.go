package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/campaignconnector/campaignconnector/rule"
)

// Bounds of the text [definitionChanges] returns, so that a definition
// with hundreds of triggers or a large message does not make a decision
// (handed to observers, logged) of tens of kilobytes.
const (
	// changeItems is how many added, and how many removed, items of a list
	// (triggers, exceptions, conversions, message keys) are named; the
	// rest are counted.
	changeItems = 3
	// changeValueRunes bounds one value or item as quoted (a trigger with
	// long conditions, an audience name): longer ones end in "…".
	changeValueRunes = 80
	// changesMaxBytes bounds the whole text: the fields whose part would
	// go past it are named only, in a last part "also <field>, …".
	changesMaxBytes = 1024
)

// definitionChanges describes, for the detail of an applied decision
// (reason edited), what differs from definition old to definition new:
// one part per field changed, in the order of [rule.Campaign]'s fields,
// separated by "; ", each led by the field's JSON name:
//
//	delay after 168h0m0s → after 72h0m0s; exceptions +purchase
//
// A scalar field gives its value before and after; a list (triggers,
// exceptions, conversions) gives the items added (+) and removed (-),
// or "reordered" when only their order changed; the message, opaque to
// the engine, gives its top-level keys added, removed and changed when
// both forms are JSON objects, else its size. The result is "" when no
// field differs in a way this describes (both forms equal once through
// JSON).
func definitionChanges(old, new *rule.Campaign) string {
	var parts []string
	add := func(field, change string) {
		if change != "" {
			parts = append(parts, field+" "+change)
		}
	}
	add("triggers", listChanges(renderAll(old.Triggers, rule.Trigger.String), renderAll(new.Triggers, rule.Trigger.String)))
	if old.Delay != new.Delay {
		add("delay", old.Delay.String()+" → "+new.Delay.String())
	}
	add("exceptions", listChanges(renderAll(old.Exceptions, rule.Exception.String), renderAll(new.Exceptions, rule.Exception.String)))
	if old.Reeligibility != new.Reeligibility {
		add("reeligibility", old.Reeligibility.String()+" → "+new.Reeligibility.String())
	}
	add("start", timeChange(old.Start, new.Start))
	add("end", timeChange(old.End, new.End))
	if old.Audience != new.Audience {
		add("audience", audienceText(old.Audience)+" → "+audienceText(new.Audience))
	}
	add("message", messageChanges(old.Message, new.Message))
	if old.Channel != new.Channel {
		add("channel", channelText(string(old.Channel))+" → "+channelText(string(new.Channel)))
	}
	if old.ControlPercent != new.ControlPercent {
		add("control_percent", fmt.Sprintf("%d%% → %d%%", old.ControlPercent, new.ControlPercent))
	}
	if old.RecheckAudience != new.RecheckAudience {
		add("recheck_audience", onOff(old.RecheckAudience)+" → "+onOff(new.RecheckAudience))
	}
	if a, b := sendWindowText(old.SendWindow), sendWindowText(new.SendWindow); a != b {
		add("send_window", a+" → "+b)
	}
	add("conversions", listChanges(renderAll(old.Conversions, conversionText), renderAll(new.Conversions, conversionText)))
	if old.PendingPolicy != new.PendingPolicy {
		add("pending_policy", policyText(old.PendingPolicy)+" → "+policyText(new.PendingPolicy))
	}
	if old.RateLimit != new.RateLimit {
		add("rate_limit", rateText(old.RateLimit)+" → "+rateText(new.RateLimit))
	}
	if old.IgnoreFrequencyCaps != new.IgnoreFrequencyCaps {
		add("ignore_frequency_caps", onOff(old.IgnoreFrequencyCaps)+" → "+onOff(new.IgnoreFrequencyCaps))
	}
	return joinBounded(parts)
}

// editedDetail is the detail of the applied decision (reason edited) of
// definition new saved over old: "definition saved", followed by what
// changed, ": delay after 168h0m0s → after 72h0m0s", when it can say.
func editedDetail(old, new *rule.Campaign) string {
	if changes := definitionChanges(old, new); changes != "" {
		return "definition saved: " + changes
	}
	return "definition saved"
}

// joinBounded joins parts with "; ", up to changesMaxBytes: the parts
// past it are named by their field only.
func joinBounded(parts []string) string {
	var b strings.Builder
	var names []string
	for _, p := range parts {
		if len(names) == 0 && b.Len()+len("; ")+len(p) <= changesMaxBytes {
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(p)
			continue
		}
		field, _, _ := strings.Cut(p, " ")
		names = append(names, field)
	}
	if len(names) > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString("also " + strings.Join(names, ", "))
	}
	return b.String()
}

// renderAll renders each item of list with render.
func renderAll[T any](list []T, render func(T) string) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = render(x)
	}
	return out
}

// listChanges describes how list new differs from list old, compared by
// their rendered items as multisets: "+a, +b, -c", at most changeItems
// of each sign named ("+2 more"), or "reordered" when only the order
// differs; "" when they are the same.
func listChanges(old, new []string) string {
	if slices.Equal(old, new) {
		return ""
	}
	left := map[string]int{}
	for _, s := range old {
		left[s]++
	}
	var added []string
	for _, s := range new {
		if left[s] > 0 {
			left[s]--
			continue
		}
		added = append(added, s)
	}
	var removed []string
	for _, s := range old {
		if left[s] > 0 {
			left[s]--
			removed = append(removed, s)
		}
	}
	if len(added) == 0 && len(removed) == 0 {
		return "reordered"
	}
	return strings.Join(append(signed("+", added), signed("-", removed)...), ", ")
}

// signed returns the first changeItems items, clipped and prefixed with
// sign, and a count of the others: "+2 more".
func signed(sign string, items []string) []string {
	var out []string
	for i, s := range items {
		if i == changeItems {
			out = append(out, fmt.Sprintf("%s%d more", sign, len(items)-changeItems))
			break
		}
		out = append(out, sign+clip(s))
	}
	return out
}

// clip shortens s to changeValueRunes runes, ending in "…" when cut.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= changeValueRunes {
		return s
	}
	r := []rune(s)
	return string(r[:changeValueRunes-1]) + "…"
}

// timeChange describes a start or end changed from a to b ("none" for
// the zero time), or "" when they are the same instant.
func timeChange(a, b time.Time) string {
	if a.Equal(b) {
		return ""
	}
	return timeText(a) + " → " + timeText(b)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return stamp(t)
}

func audienceText(s string) string {
	if s == "" {
		return "all users"
	}
	return strconv.Quote(clip(s))
}

func channelText(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func sendWindowText(w *rule.SendWindow) string {
	s := w.String()
	if w != nil && w.NextAvailable {
		s += ", next available"
	}
	return s
}

func policyText(p rule.PendingPolicy) string {
	if p == rule.KeepFirst {
		return "keep_first"
	}
	return string(p)
}

func rateText(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return strconv.Itoa(n) + "/min"
}

// conversionText renders a conversion: `bought (purchase "sku-1"
// within 72h0m0s)`.
func conversionText(c rule.Conversion) string {
	t := rule.Trigger{Kind: c.Kind, CampaignID: c.CampaignID, Target: c.Target, Name: c.Name, Where: c.Where}
	return nameText(c.ID) + " (" + t.String() + " within " + c.Window().String() + ")"
}

// messageChanges describes how message b differs from message a: the
// top-level keys added, removed and changed when both are JSON objects
// ("+cta, -footer, title changed"), else "set", "removed" or their sizes;
// "" when they are the same JSON.
func messageChanges(a, b json.RawMessage) string {
	if bytes.Equal(a, b) {
		return ""
	}
	switch {
	case len(a) == 0:
		return fmt.Sprintf("set (%d bytes)", len(b))
	case len(b) == 0:
		return "removed"
	}
	va, errA := decodeExact(a)
	vb, errB := decodeExact(b)
	if errA == nil && errB == nil && reflect.DeepEqual(va, vb) {
		return "" // the same JSON, spaced or ordered otherwise
	}
	oa, okA := va.(map[string]any)
	ob, okB := vb.(map[string]any)
	if !okA || !okB {
		return fmt.Sprintf("changed (%d → %d bytes)", len(a), len(b))
	}
	var added, removed, changed []string
	for _, k := range slices.Sorted(maps.Keys(ob)) {
		if v, ok := oa[k]; !ok {
			added = append(added, nameText(k))
		} else if !reflect.DeepEqual(v, ob[k]) {
			changed = append(changed, nameText(k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(oa)) {
		if _, ok := ob[k]; !ok {
			removed = append(removed, nameText(k))
		}
	}
	parts := append(signed("+", added), signed("-", removed)...)
	if len(changed) > 0 {
		parts = append(parts, strings.Join(signed("", changed), ", ")+" changed")
	}
	return strings.Join(parts, ", ")
}

// decodeExact decodes JSON document raw with its numbers as
// [json.Number]: a float64 would take two numbers that differ past its
// precision (a template ID of 17 digits) for one, and hide their change.
func decodeExact(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// nameText is name (a message key, a conversion ID: the host's text) as
// a detail shows it: as it is when it holds letters, digits and "_-.:/@#"
// only, else quoted (the empty name too), so that a line break or an
// escape sequence in it does not reach a log or a terminal as such, and
// its "; " or " → " cannot read as a part of the detail of its own.
func nameText(name string) string {
	if name == "" {
		return `""`
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-.:/@#", r) {
			return strconv.Quote(clip(name))
		}
	}
	return name
}
