package rule

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// DuplicateKeyError is the decoding error of a JSON object that sets one
// field twice: with the same key written twice ({"delay":…,"delay":…}),
// or with two keys encoding/json takes for the same field as it ignores
// case ("delay" and "Delay"). encoding/json would keep the last; the
// decoding of a rule type refuses the object instead, as a definition
// that says two things at once is a mistake. A single key written in
// another case ("Delay" alone) is accepted.
type DuplicateKeyError struct {
	// Place is where the object is, as the error says it: "campaign",
	// "campaign: triggers[0]", "campaign: conversions[1]: where[0]",
	// "delay".
	Place string
	// Key is the key that sets the field again, as written.
	Key string
	// First is the key, as written, that set the field before Key.
	First string
}

// Error returns `rule: campaign: duplicate key "delay"` or, for keys that
// differ in case, `rule: campaign: duplicate key "Delay" (the same field
// as "delay")`.
func (e *DuplicateKeyError) Error() string { return "rule: " + e.Place + ": " + e.msg() }

func (e *DuplicateKeyError) msg() string {
	if e.Key == e.First {
		return fmt.Sprintf("duplicate key %q", e.Key)
	}
	return fmt.Sprintf("duplicate key %q (the same field as %q)", e.Key, e.First)
}

// placed returns a decodeError at path with msg, wrapping err; a
// *DuplicateKeyError is wrapped as a copy whose Place is path, so that it
// says where it is as the error's text does.
func placed(path, msg string, err error) *decodeError {
	if dk, ok := err.(*DuplicateKeyError); ok {
		err = &DuplicateKeyError{Place: path, Key: dk.Key, First: dk.First}
	}
	return &decodeError{path: path, msg: msg, err: err}
}

// duplicateKey returns the *DuplicateKeyError of the first key, in the
// order written, that sets a field a key before it set, in the JSON object
// b decoded into struct type t, named what, or in an object inside it
// decoded into a struct that has no decoding of its own (those that have
// one check their own objects), or nil.
func duplicateKey(b []byte, t reflect.Type, what string) *decodeError {
	at, key, first, ok := findDuplicate(b, t, "")
	if !ok {
		return nil
	}
	if at != "" {
		what += ": " + at
	}
	dk := &DuplicateKeyError{Place: what, Key: key, First: first}
	return &decodeError{path: what, msg: dk.msg(), err: dk}
}

// findDuplicate is duplicateKey's walk, as unknownField's: where the
// object is ("" for b itself, "triggers[0].where[1]" inside), the key and
// the one before it that set the same field.
func findDuplicate(b []byte, t reflect.Type, at string) (where, key, first string, ok bool) {
	t = indirect(t)
	switch {
	case reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()),
		reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()):
		return "", "", "", false // it checks its own objects
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		i := 0
		eachItem(b, func(it []byte) bool {
			where, key, first, ok = findDuplicate(it, t.Elem(), fmt.Sprintf("%s[%d]", at, i))
			i++
			return !ok
		})
		return where, key, first, ok
	case t.Kind() != reflect.Struct:
		return "", "", "", false
	}
	fields := cachedFields(t)
	var set []setBy // the key that set each field so far
	eachMember(b, func(k string, raw []byte) bool {
		f, known := fieldOf(fields, k)
		if !known {
			return true // the decoding's business
		}
		if i := slices.IndexFunc(set, func(s setBy) bool { return s.field == f.name }); i >= 0 {
			where, key, first, ok = at, k, set[i].key, true
			return false
		}
		set = append(set, setBy{f.name, k})
		inner := k
		if at != "" {
			inner = at + "." + k
		}
		where, key, first, ok = findDuplicate(raw, f.typ, inner)
		return !ok
	})
	return where, key, first, ok
}

// fieldOf returns the field key names. encoding/json prefers an exact
// match and else ignores case; strings.EqualFold folds at least the cases
// encoding/json does.
func fieldOf(fields []jsonField, key string) (jsonField, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return jsonField{}, false
}

// setBy is a field of an object and the key, as written, that set it.
type setBy struct{ field, key string }

// fieldsByType caches jsonFields by struct type for findDuplicate, which
// runs at every decoding of a rule type.
var fieldsByType sync.Map // reflect.Type → []jsonField

// cachedFields returns jsonFields(t), computed once per type. Callers do
// not modify the slice.
func cachedFields(t reflect.Type) []jsonField {
	if f, ok := fieldsByType.Load(t); ok {
		return f.([]jsonField)
	}
	f, _ := fieldsByType.LoadOrStore(t, jsonFields(t))
	return f.([]jsonField)
}

// eachMember calls fn with each key of the JSON object b, unquoted, and
// the bytes of its value, in the order written, until fn returns false.
// b has decoded without error, so it is valid JSON; on anything else
// eachMember stops, and never reads past b. It scans b's bytes once, where
// a json.Decoder would allocate for every token: findDuplicate walks
// every object of every definition decoded.
func eachMember(b []byte, fn func(key string, raw []byte) bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return
	}
	for i = skipSpace(b, i+1); i < len(b) && b[i] == '"'; {
		end := stringEnd(b, i)
		key, ok := unquote(b[i:end])
		if i = skipSpace(b, end); !ok || i >= len(b) || b[i] != ':' {
			return
		}
		start := skipSpace(b, i+1)
		stop := valueEnd(b, start)
		if stop <= start || !fn(key, b[start:stop]) {
			return
		}
		if i = skipSpace(b, stop); i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}

// eachItem calls fn with the bytes of each item of the JSON array b, in
// order, until fn returns false; as eachMember, it stops on anything but
// valid JSON.
func eachItem(b []byte, fn func(raw []byte) bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return
	}
	for i = skipSpace(b, i+1); i < len(b) && b[i] != ']'; {
		stop := valueEnd(b, i)
		if stop <= i || !fn(b[i:stop]) {
			return
		}
		if i = skipSpace(b, stop); i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}

// unquote returns the text of the JSON string q, quotes included; only a
// string with escapes costs a decoding.
func unquote(q []byte) (string, bool) {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return "", false
	}
	if !slices.Contains(q, '\\') {
		return string(q[1 : len(q)-1]), true
	}
	var s string
	return s, json.Unmarshal(q, &s) == nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index past the JSON string that starts at b[i],
// or len(b) when it does not end.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index past the JSON value that starts at b[i]: a
// string, an object or array (its brackets counted, strings skipped), or
// a number or literal.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[i])) {
		i++
	}
	return i
}
