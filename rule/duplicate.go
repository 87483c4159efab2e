package rule

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
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
		var items []json.RawMessage
		if json.Unmarshal(b, &items) != nil {
			return "", "", "", false
		}
		for i, it := range items {
			if where, key, first, ok = findDuplicate(it, t.Elem(), fmt.Sprintf("%s[%d]", at, i)); ok {
				return where, key, first, true
			}
		}
		return "", "", "", false
	case t.Kind() != reflect.Struct:
		return "", "", "", false
	}
	fields := jsonFields(t)
	set := map[string]string{} // the key that set each field, by field name
	eachKey(b, func(k string, raw json.RawMessage) bool {
		f, known := fieldOf(fields, k)
		if !known {
			return true // the decoding's business
		}
		if before, twice := set[f.name]; twice {
			where, key, first, ok = at, k, before, true
			return false
		}
		set[f.name] = k
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
