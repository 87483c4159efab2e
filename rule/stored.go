package rule

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/campaignconnector/campaignconnector/internal/jsontext"
)

// DecodeStoredCampaign decodes a definition a store wrote, which a newer
// version of this package may have written: fields this version does not
// know, at any depth, are ignored, and everything else is decoded as
// [Campaign.UnmarshalJSON] decodes it, with the same errors (an unknown
// event kind, a malformed delay). Stores use it so that, during a rolling
// upgrade, older engines keep running campaigns a newer one saved; host
// files keep the strict decoding, which catches a misspelt field.
//
// An object whose fields are all unknown (a delay of a kind this version
// does not have, say) is an error rather than its zero value: an empty
// delay would send at once, not when the newer version meant. That error
// is a [*ValidationError] naming the part, as the part's other decoding
// errors are (a delay's wraps [ErrInvalidDelay]). Text encoding/json reads
// as U+FFFD, which the strict decoding refuses, reads as U+FFFD here, as
// it did before that decoding refused it, but in the message, which keeps
// its bytes: only a definition written to a store around Save holds such
// text, and it must not keep the engine from loading the others. Data
// that is not one
// whole JSON value (cut short, or followed by more) is an error, as in
// the strict decoding. Decoding does not validate: call
// [Campaign.Validate].
func DecodeStoredCampaign(data []byte) (Campaign, error) {
	if !json.Valid(data) {
		// Malformed, cut short, or followed by more data: dropUnknown
		// would rebuild the object from what it could read.
		return Campaign{}, malformed(data, "campaign")
	}
	known, err := dropUnknown(data, reflect.TypeFor[Campaign](), "campaign")
	if err != nil {
		return Campaign{}, err
	}
	var c Campaign
	if err := c.UnmarshalJSON(known); err != nil {
		return Campaign{}, err
	}
	return c, nil
}

// wireTypes maps each rule type that decodes itself to the struct whose
// fields its JSON object holds, or, for a time of day, to string: it has
// no fields to drop.
var wireTypes = map[reflect.Type]reflect.Type{
	reflect.TypeFor[Campaign]():      reflect.TypeFor[Campaign](),
	reflect.TypeFor[Delay]():         reflect.TypeFor[delayJSON](),
	reflect.TypeFor[Reeligibility](): reflect.TypeFor[reeligibilityJSON](),
	reflect.TypeFor[SendWindow]():    reflect.TypeFor[sendWindowJSON](),
	reflect.TypeFor[Conversion]():    reflect.TypeFor[conversionJSON](),
	reflect.TypeFor[Trigger]():       reflect.TypeFor[matcherJSON](),
	reflect.TypeFor[Exception]():     reflect.TypeFor[matcherJSON](),
	reflect.TypeFor[Condition]():     reflect.TypeFor[conditionJSON](),
	reflect.TypeFor[TimeOfDay]():     reflect.TypeFor[string](),
}

// storedParts names the parts a campaign decodes by their own decoding, as
// their errors do, with the sentinel those wrap.
var storedParts = map[reflect.Type]struct {
	object   string
	sentinel error
}{
	reflect.TypeFor[Delay]():         {"delay", ErrInvalidDelay},
	reflect.TypeFor[Reeligibility](): {"reeligibility", nil},
	reflect.TypeFor[SendWindow]():    {"send_window", nil},
	reflect.TypeFor[Conversion]():    {"conversion", nil},
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// dropUnknown returns JSON value b, to be decoded as a t, without the
// object keys no field of t (or of its parts) takes. Values it cannot
// walk (malformed JSON, an array where t wants an object) come back as
// they are, for the decoding to report. The keys kept keep their order and
// their values their bytes. what names b in errors.
func dropUnknown(b []byte, t reflect.Type, what string) ([]byte, error) {
	t = indirect(t)
	part := t
	if wire, ok := wireTypes[t]; ok {
		t = wire
	} else if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return b, nil // a value with its own decoding: a time, an event kind
	}
	switch {
	case t == reflect.TypeFor[json.RawMessage](): // a message: its bytes, as stored
		return b, nil
	case t.Kind() == reflect.Struct:
		return dropUnknownKeys(b, t, what, part)
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return dropInElements(b, t.Elem(), what)
	}
	return readable(b), nil
}

// readable returns b, a stored value (a string, a condition's value),
// with text encoding/json reads as U+FFFD (bytes that are not UTF-8, an
// unpaired surrogate escape) written as U+FFFD: the strict decoding
// refuses such text, and a definition stored around Save (a condition
// whose value was a json.RawMessage) loads as it did before it did. Only
// such a value is written anew.
func readable(b []byte) []byte {
	if jsontext.Unicode(b) == nil {
		return b
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return b
	}
	out, err := json.Marshal(v)
	if err != nil {
		return b
	}
	return out
}

// dropUnknownKeys is dropUnknown for a struct t, the wire form of part.
func dropUnknownKeys(b []byte, t reflect.Type, what string, part reflect.Type) ([]byte, error) {
	if v := bytes.TrimLeft(b, " \t\r\n"); len(v) == 0 || v[0] != '{' {
		return b, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return b, nil
	}
	fields := jsonFields(t)
	var (
		out     = []byte{'{'}
		dropped []string
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return b, nil
		}
		key, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return b, nil
		}
		ft, ok := fieldType(fields, key)
		if !ok {
			dropped = append(dropped, key)
			continue
		}
		if value, err = dropUnknown(value, ft, what+": "+key); err != nil {
			return nil, err
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		name, _ := json.Marshal(key)
		out = append(append(append(out, name...), ':'), value...)
	}
	if len(out) == 1 && len(dropped) > 0 {
		msg := fmt.Sprintf("no field this version knows (%s); written by a newer version?", strings.Join(dropped, ", "))
		if p, ok := storedParts[part]; ok {
			return nil, &decodeError{path: what, msg: msg, err: &ValidationError{Object: p.object, Reason: msg, Err: p.sentinel}}
		}
		// The campaign, a trigger, an exception, a condition: the
		// campaign's error, or the condition's, as decoding it gives.
		return nil, withSentinel(&decodeError{path: what, msg: msg}, "campaign", nil)
	}
	return append(out, '}'), nil
}

// dropInElements is dropUnknown for the elements, of type t, of an array.
func dropInElements(b []byte, t reflect.Type, what string) ([]byte, error) {
	var elems []json.RawMessage
	if v := bytes.TrimLeft(b, " \t\r\n"); len(v) == 0 || v[0] != '[' || json.Unmarshal(b, &elems) != nil {
		return b, nil
	}
	out := []byte{'['}
	for i, e := range elems {
		e, err := dropUnknown(e, t, fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, e...)
	}
	return append(out, ']'), nil
}

// jsonField is a field of a struct as encoding/json decodes it.
type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields returns the fields of struct t that encoding/json decodes
// into, embedded structs' included, by JSON name: a name t has itself
// hides the same name of an embedded struct, as it does for encoding/json.
func jsonFields(t reflect.Type) []jsonField {
	var out, embedded []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "" && indirect(f.Type).Kind() == reflect.Struct:
			embedded = append(embedded, jsonFields(indirect(f.Type))...)
		case name != "":
			out = append(out, jsonField{name, f.Type})
		case f.IsExported():
			out = append(out, jsonField{f.Name, f.Type})
		}
	}
	for _, f := range embedded {
		if !slices.ContainsFunc(out, func(g jsonField) bool { return g.name == f.name }) {
			out = append(out, f)
		}
	}
	return out
}

func indirect(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// fieldType returns the type of the field key names (see fieldOf), so
// that no key encoding/json would decode is dropped.
func fieldType(fields []jsonField, key string) (reflect.Type, bool) {
	f, ok := fieldOf(fields, key)
	return f.typ, ok
}

// malformed returns the error of b, which is not one whole JSON value,
// decoded as the rule type named what: encoding/json's *json.SyntaxError,
// with where it is, as the strict decoding words it.
func malformed(b []byte, what string) error {
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return &decodeError{path: what, msg: "malformed JSON", err: err}
	}
	return &decodeError{path: what, msg: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, strings.TrimPrefix(se.Error(), "json: ")), err: err}
}
