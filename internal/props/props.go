// Package props copies event properties: the JSON-like values of
// event.Event.Properties (objects, arrays, strings, numbers, booleans,
// null), so that a copy handed out can be changed without touching the
// one kept.
package props

// Clone returns a deep copy of m: nested objects (map[string]any) and
// arrays ([]any) are copied too; other values are immutable or, for
// types a valid event does not hold, shared. A nil or empty m gives nil.
func Clone(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = value(v)
	}
	return out
}

func value(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = value(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = value(e)
		}
		return out
	}
	return v
}
