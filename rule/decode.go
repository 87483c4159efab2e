package rule

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/editdist"
)

// The JSON shapes each rule type accepts, as its decoding errors show them.
const (
	delayShapes = `{"after":"72h"}, {"weekday":"monday","at":"10:00"}, {"days":2,"at":"09:00"} ` +
		`or null (immediately)`
	reeligibilityShapes = `{"after":"720h"} or null (once only)`
	sendWindowShapes    = `{"from":"09:00","to":"17:00"}, with "days":["monday",…] and "next_available":true optional`
	conversionShapes    = `{"id":"bought","kind":"purchase"}, with "campaign_id", "target", "name", "where" and ` +
		`"deadline":"72h" optional`
	campaignShapes = `an object such as {"id":"resend","triggers":[{"kind":"email_received","campaign_id":"newsletter"}],` +
		`"delay":{"after":"168h"}}`
	durationShape  = `a duration such as "72h" or "90m"`
	timeOfDayShape = `a time of day such as "09:00"`
	timeShape      = `an RFC 3339 time such as "2026-03-01T09:00:00Z"`
)

// decodeError is a JSON decoding error of a rule type, said in terms of the
// JSON it accepts: where (the type, then the field) and what was wanted,
// never a Go type. It wraps encoding/json's error.
type decodeError struct {
	path string // "delay", "campaign: delay", "campaign: triggers[0].kind"
	msg  string
	err  error
}

func (e *decodeError) Error() string { return "rule: " + e.path + ": " + e.msg }
func (e *decodeError) Unwrap() error { return e.err }

// decoded returns ve, a problem a rule type's decoding found in a value
// after its JSON decoded (a malformed duration, an unknown weekday), as
// a decodeError, so that it reads as every other decoding error does,
// under the package's prefix ("rule: delay: at: …") when the type is
// decoded alone, and placed in the campaign's path when inside one.
// errors.As still finds ve.
func decoded(ve *ValidationError) error {
	path := ve.Object
	if ve.Field != "" {
		path += ": " + ve.Field
	}
	return &decodeError{path: path, msg: strings.TrimPrefix(ve.Error(), path+": "), err: ve}
}

// withSentinel returns err, an error of the decoding of rule type what
// (see decode), wrapping also a *ValidationError (Object what, Field the
// rest of err's path) that wraps sentinel, if not nil: a value of the
// wrong JSON type, an unknown field or a value that does not parse then
// satisfies errors.As, and errors.Is(err, sentinel), as a value that
// does not parse found by decoded does. An error inside a condition (a
// trigger's, an exception's or a conversion's "where") is the
// condition's: Object "condition", Field the condition's field, wrapping
// ErrInvalidCondition, whatever sentinel is. Its text is unchanged, and
// the error behind it (encoding/json's) is still in its chain. Malformed
// JSON, a key given twice (a *DuplicateKeyError, which says where it is
// by itself) and an error that already holds a *ValidationError are
// returned as they are.
func withSentinel(err error, what string, sentinel error) error {
	de, ok := err.(*decodeError)
	if !ok {
		return err
	}
	var (
		dk *DuplicateKeyError
		se *json.SyntaxError
		ve *ValidationError
	)
	if errors.As(de.err, &dk) || errors.As(de.err, &se) || errors.As(de.err, &ve) {
		return err
	}
	object, field := what, strings.TrimPrefix(strings.TrimPrefix(de.path, what), ": ")
	if field == "" && errors.Is(de.err, event.ErrUnknownKind) && de.msg == de.err.Error() {
		field = "kind" // a conversion's: its text does not name the field
	}
	if f, ok := conditionField(field); ok {
		object, field, sentinel = "condition", f, ErrInvalidCondition
	}
	ve = &ValidationError{Object: object, Field: field, Reason: de.msg, Err: sentinel}
	if de.err == nil {
		return &decodeError{path: de.path, msg: de.msg, err: ve}
	}
	return &decodeError{path: de.path, msg: de.msg, err: &problemCause{ve, de.err}}
}

// conditionField returns the field of a condition that field path is
// in ("op" for "triggers[0].where[1].op", "" for "where[0]") and true, or
// false when path is not inside a "where" list. The path names a list
// by its key as written, which encoding/json matches in any case
// ("WHERE[0]").
func conditionField(path string) (string, bool) {
	parts := strings.Split(strings.ReplaceAll(path, ": ", "."), ".")
	for i, p := range parts {
		if name, _, _ := strings.Cut(p, "["); strings.EqualFold(name, "where") {
			return strings.Join(parts[i+1:], "."), true
		}
	}
	return "", false
}

// problemCause is the error behind a decoding error (encoding/json's),
// whose text it has, with the decoding error as a *ValidationError:
// errors.Is and errors.As find both.
type problemCause struct {
	ve    *ValidationError
	cause error
}

func (e *problemCause) Error() string   { return e.cause.Error() }
func (e *problemCause) Unwrap() []error { return []error{e.ve, e.cause} }

// decode decodes b into v strictly (see strictUnmarshal), v being the wire
// form of the rule type named what, which accepts shapes; fields gives
// what some of v's fields want, by JSON name, when their Go type does not
// say it, and under the name followed by "[]" ("days[]") what one
// element of a list field wants. Errors come as decodeError, the path of
// a nested rule type's error prefixed with what, a value in a list named
// with its indices (see valuePath); the errors of the values' own
// checks (an unknown kind, a malformed time) keep their text.
func decode(b []byte, v any, what, shapes string, fields map[string]string) error {
	err := strictUnmarshal(b, v)
	if err == nil {
		if dk := duplicateKey(b, reflect.TypeOf(v).Elem(), what); dk != nil {
			return dk
		}
		if te := badText(b, reflect.TypeOf(v).Elem(), what); te != nil {
			return te
		}
		return nil
	}
	var (
		te *json.UnmarshalTypeError
		se *json.SyntaxError
		de *decodeError
	)
	switch {
	case errors.As(err, &de):
		return placed(what+": "+de.path, de.msg, de.err)
	case errors.As(err, &te):
		if te.Field == "" {
			return &decodeError{path: what, msg: "want " + shapes + ", got " + jsonKind(te.Value), err: err}
		}
		field := jsonPath(te.Field, reflect.TypeOf(v).Elem())
		want, ok := fields[field]
		if !ok {
			want = describeType(te.Type)
		}
		at := field
		if p, ok := valuePath(b, reflect.TypeOf(v).Elem(), te, field); ok {
			at = p // with the indices of the lists it is in
			if elem, ok := fields[field+"[]"]; ok && strings.HasSuffix(p, "]") {
				want = elem // one element of a list, not the list
			}
		}
		return &decodeError{path: what + ": " + at, msg: "want " + want + ", got " + jsonKind(te.Value), err: err}
	case errors.As(err, &se):
		return &decodeError{path: what, msg: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, strings.TrimPrefix(se.Error(), "json: ")), err: err}
	}
	if at, field, near, ok := unknownField(b, reflect.TypeOf(v).Elem(), ""); ok {
		hint := ""
		if near != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", near)
		}
		if at != "" { // inside a trigger, an exception, a condition
			return &decodeError{path: what + ": " + at, msg: fmt.Sprintf("unknown field %q%s", field, hint), err: err}
		}
		return &decodeError{path: what, msg: fmt.Sprintf("unknown field %q%s; want %s", field, hint, shapes), err: err}
	}
	return &decodeError{path: what, msg: err.Error(), err: err}
}

// unknownField returns the first key, in the order written (the one
// encoding/json names), that no field takes, of the JSON object b decoded
// into struct type t or of an object inside it decoded into a struct that
// has no decoding of its own (a trigger, an exception, a condition),
// if there is one: where it is ("" in b itself, "triggers[0].where[1]"
// inside), the key and the field it most likely misspells (see
// nearestField), or "".
func unknownField(b []byte, t reflect.Type, at string) (where, key, near string, ok bool) {
	t = indirect(t)
	switch {
	case reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()),
		reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()):
		return "", "", "", false // its errors are its own
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(b, &items) != nil {
			return "", "", "", false
		}
		for i, it := range items {
			if where, key, near, ok = unknownField(it, t.Elem(), fmt.Sprintf("%s[%d]", at, i)); ok {
				return where, key, near, true
			}
		}
		return "", "", "", false
	case t.Kind() != reflect.Struct:
		return "", "", "", false
	}
	fields := jsonFields(t)
	eachKey(b, func(k string, raw json.RawMessage) bool {
		ft, known := fieldType(fields, k)
		if !known {
			where, key, near, ok = at, k, nearestField(fields, k), true
			return false
		}
		inner := k
		if at != "" {
			inner = at + "." + k
		}
		where, key, near, ok = unknownField(raw, ft, inner)
		return !ok
	})
	return where, key, near, ok
}

// jsonPath returns the path of a field of struct t that encoding/json
// gives, "plainCampaign.id", without the Go name of the struct embedded in
// t that holds it: "id".
func jsonPath(path string, t reflect.Type) string {
	if t.Kind() != reflect.Struct {
		return path
	}
	for i := range t.NumField() {
		if f := t.Field(i); f.Anonymous {
			path = strings.TrimPrefix(path, f.Name+".")
		}
	}
	return path
}

// nearestField returns the JSON name of the field key most likely
// misspells, or "": the same name written another way ("rateLimit",
// "RateLimit" or "rate-limit" for "rate_limit"), else the nearest name
// one edit away (two when both have six bytes or more: "rate_limt",
// "delays"), when only one name is that near.
func nearestField(fields []jsonField, key string) string {
	if len(key) > 64 {
		return "" // no field name is this long; spare the edit distances
	}
	squash := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
	}
	for _, f := range fields {
		if squash(f.name) == squash(key) {
			return f.name
		}
	}
	best, bestD, ties := "", 3, 0
	for _, f := range fields {
		limit := 1
		if len(key) >= 6 && len(f.name) >= 6 {
			limit = 2
		}
		d := editdist.AtMost(strings.ToLower(key), f.name, limit)
		switch {
		case d > limit:
		case d < bestD:
			best, bestD, ties = f.name, d, 0
		case d == bestD:
			ties++
		}
	}
	if ties > 0 {
		return ""
	}
	return best
}

// jsonKind says what kind of JSON value encoding/json found ("string",
// "number"…), with an article.
func jsonKind(v string) string {
	switch {
	case v == "object", v == "array":
		return "an " + v
	case v == "bool":
		return "true or false"
	case v == "string", v == "number", strings.HasPrefix(v, "number "):
		return "a " + v
	}
	return v
}

// describeType says what JSON a Go type of the wire forms takes.
func describeType(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[event.Kind]():
		return `an event kind such as "email_opened"`
	case reflect.TypeFor[event.Channel]():
		return `a channel such as "email"`
	case reflect.TypeFor[PendingPolicy]():
		return `"replace_with_latest" or "allow_parallel" (none: keep the first)`
	case reflect.TypeFor[Operator]():
		return `an operator such as "gt" or "in"`
	case reflect.TypeFor[TimeOfDay]():
		return timeOfDayShape
	case reflect.TypeFor[time.Time]():
		return timeShape
	case reflect.TypeFor[time.Duration]():
		return durationShape
	case reflect.TypeFor[json.RawMessage]():
		return "any JSON value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	}
	return "another JSON value"
}

// decodeTime reports a time of field what (an RFC 3339 string) that raw
// does not hold.
func decodeTime(raw json.RawMessage, what string) error {
	var t time.Time
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return &decodeError{path: what, msg: "want " + timeShape + ", got " + clipJSON(raw), err: err}
	}
	return nil
}

// clipJSON returns a JSON value for an error message, cut to 64 bytes.
func clipJSON(raw json.RawMessage) string {
	const max = 64
	if len(raw) <= max {
		return string(raw)
	}
	return strings.ToValidUTF8(string(raw[:max]), "") + "…"
}
