package event

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Limits bounds the size of accepted events, so that one hostile or broken
// producer cannot make the engine hold arbitrary amounts of memory. A zero
// field means "no limit" for that field; [DefaultLimits] is what the engine
// applies unless configured otherwise. Whatever the limits, [Event.Validate]
// caps identifiers at [MaxIDBytes], what every store holds.
type Limits struct {
	MaxIDLength      int // longest ID, UserID, CampaignID, Target or Name, in bytes
	MaxProperties    int // most top-level properties
	MaxPropertyBytes int // largest total size of all properties (keys and values, as counted by [PropertySize])
	MaxDepth         int // deepest nesting of lists and objects in a property value
}

// DefaultLimits are generous for real traffic: 256-byte identifiers, 64
// properties, 16 KiB of properties, nesting 8 deep.
var DefaultLimits = Limits{
	MaxIDLength:      256,
	MaxProperties:    64,
	MaxPropertyBytes: 16 << 10,
	MaxDepth:         8,
}

// Check reports every limit e exceeds as [*ValidationError] values wrapping
// [ErrTooLarge], joined together, or nil.
func (l Limits) Check(e Event) error {
	if len(e.Properties) == 0 && (l.MaxIDLength <= 0 ||
		max(len(e.ID), len(e.UserID), len(e.CampaignID), len(e.Target), len(e.Name)) <= l.MaxIDLength) {
		return nil // the common case, decided without building a report
	}
	p := Problems{Object: "event"}
	if l.MaxIDLength > 0 {
		for _, f := range [...]struct{ name, v string }{
			{"id", e.ID}, {"user_id", e.UserID}, {"campaign_id", e.CampaignID},
			{"target", e.Target}, {"name", e.Name},
		} {
			if len(f.v) > l.MaxIDLength {
				p.Add(f.name, fmt.Sprintf("%d bytes, limit %d", len(f.v), l.MaxIDLength), ErrTooLarge)
			}
		}
	}
	if len(e.Properties) == 0 {
		return p.Err()
	}
	if l.MaxProperties > 0 && len(e.Properties) > l.MaxProperties {
		p.Add("properties", fmt.Sprintf("%d properties, limit %d", len(e.Properties), l.MaxProperties), ErrTooLarge)
	}
	if l.MaxPropertyBytes > 0 || l.MaxDepth > 0 {
		size, depth := 0, 0
		for k, v := range e.Properties {
			s, d := measure(v, 1)
			size += len(k) + s
			depth = max(depth, d)
		}
		if l.MaxPropertyBytes > 0 && size > l.MaxPropertyBytes {
			p.Add("properties", fmt.Sprintf("%d bytes, limit %d", size, l.MaxPropertyBytes), ErrTooLarge)
		}
		if l.MaxDepth > 0 && depth > l.MaxDepth {
			p.Add("properties", fmt.Sprintf("nested %d deep, limit %d", depth, l.MaxDepth), ErrTooLarge)
		}
	}
	return p.Err()
}

// PropertySize returns the size Limits charges for a property value: string
// lengths, 8 bytes per number or boolean, keys of nested objects, and 1 byte
// per element for lists and objects themselves.
func PropertySize(v any) int {
	s, _ := measure(v, 1)
	return s
}

// measure returns the charged size of v and its nesting depth. It stops
// descending at depth 64 so that even a cyclic map built in Go terminates
// (such a value is rejected by CheckValue anyway).
func measure(v any, depth int) (size, maxDepth int) {
	maxDepth = depth
	if depth > 64 {
		return 0, depth
	}
	switch x := v.(type) {
	case string:
		return len(x), depth
	case json.Number:
		return len(x), depth
	case []any:
		size = 1
		for _, e := range x {
			s, d := measure(e, depth+1)
			size += s
			maxDepth = max(maxDepth, d)
		}
		return size, maxDepth
	case map[string]any:
		size = 1
		for k, e := range x {
			s, d := measure(e, depth+1)
			size += len(k) + s
			maxDepth = max(maxDepth, d)
		}
		return size, maxDepth
	default:
		return 8, depth
	}
}

// String describes the limits for error messages and logs.
func (l Limits) String() string {
	return "ids≤" + strconv.Itoa(l.MaxIDLength) + "B props≤" + strconv.Itoa(l.MaxProperties) +
		" size≤" + strconv.Itoa(l.MaxPropertyBytes) + "B depth≤" + strconv.Itoa(l.MaxDepth)
}
