package rule

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// valuePath returns the path, list indices included, of the value that
// encoding/json's te is about in JSON b decoded into type t
// ("triggers[1].where[1].op", where te.Field says "triggers.where.op"),
// and true; or false when it finds no such value. field is te.Field as
// the errors give it (see jsonPath). The value is the innermost one, of
// the JSON kind te names, whose bytes hold te.Offset (encoding/json gives
// where a value ends, or just past where an object or array begins), at
// a path that reads as field without its indices. Keys are named by the
// JSON name of the field they set, matched as encoding/json matches them
// (see fieldOf); the walk does not enter a value that decodes itself,
// whose errors are its own, nor one of another kind than t takes.
func valuePath(b []byte, t reflect.Type, te *json.UnmarshalTypeError, field string) (string, bool) {
	kind, _, _ := strings.Cut(te.Value, " ") // "number 1e999"
	found, foundAt := "", -1
	var walk func(i int, vt reflect.Type, path, bare string) int
	walk = func(i int, vt reflect.Type, path, bare string) int {
		end := valueEnd(b, i)
		if i >= len(b) || i > int(te.Offset) || int64(end) < te.Offset {
			return end // te.Offset is not in this value
		}
		if bare == field && jsonValueKind(b[i]) == kind && i > foundAt {
			found, foundAt = path, i
		}
		vt = indirect(vt)
		if reflect.PointerTo(vt).Implements(jsonUnmarshaler) || reflect.PointerTo(vt).Implements(textUnmarshaler) {
			return end
		}
		switch {
		case b[i] == '[' && (vt.Kind() == reflect.Slice || vt.Kind() == reflect.Array):
			n := 0
			for j := skipSpace(b, i+1); j < end && b[j] != ']'; n++ {
				j = skipSpace(b, walk(j, vt.Elem(), fmt.Sprintf("%s[%d]", path, n), bare))
				if j < end && b[j] == ',' {
					j = skipSpace(b, j+1)
				}
			}
		case b[i] == '{' && vt.Kind() == reflect.Struct:
			fields := cachedFields(vt)
			for j := skipSpace(b, i+1); j < end && b[j] == '"'; {
				k := stringEnd(b, j)
				key, _ := unquote(b[j:k])
				if j = skipSpace(b, k); j >= end || b[j] != ':' {
					break
				}
				j = skipSpace(b, j+1)
				if f, ok := fieldOf(fields, key); ok {
					j = walk(j, f.typ, join(path, f.name), join(bare, f.name))
				} else {
					j = valueEnd(b, j)
				}
				if j = skipSpace(b, j); j < end && b[j] == ',' {
					j = skipSpace(b, j+1)
				}
			}
		}
		return end
	}
	walk(skipSpace(b, 0), t, "", "")
	return found, foundAt >= 0
}

// join returns path a.b, or b when a is empty.
func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// jsonValueKind names the kind of the JSON value starting with byte c as
// encoding/json's UnmarshalTypeError.Value does.
func jsonValueKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}
