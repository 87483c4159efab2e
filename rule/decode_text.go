package rule

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/jsontext"
)

// badText returns the decoding error of the first text of the JSON object
// b, decoded into struct type t and named what, that encoding/json read as
// U+FFFD without a word (bytes that are not UTF-8, an unpaired surrogate
// escape), placed at its field; nil when there is none. An ID decoded so
// would pass Validate as another ID than the one written. It wraps
// [event.ErrUnstorable], as Validate's refusal of such text does; the
// *ValidationError is the part's to add (see withSentinel), as for its
// other decoding errors: a delay's wraps ErrInvalidDelay, a condition's
// is Object "condition" and wraps ErrInvalidCondition, a send window's
// bound is Object "send_window", Field "from".
func badText(b []byte, t reflect.Type, what string) *decodeError {
	at, err := findBadText(b, t)
	if err == nil {
		return nil
	}
	path := what
	if at = strings.TrimPrefix(at, "."); at != "" {
		path += ": " + at
	}
	return &decodeError{path: path, msg: err.Error() + ", which encoding/json reads as U+FFFD", err: event.ErrUnstorable}
}

// findBadText is badText's walk, as findDuplicate's: where the text is
// ("" for b itself, ".triggers[0].where[1].value" inside: each key
// after a dot, badText drops the first) and what is wrong with it. The
// path is built only for the text found, on the way out, so that a
// definition without such text costs no allocation for it. A message
// (json.RawMessage) keeps its bytes as written, and Validate checks them;
// a value of a type that decodes itself (a nested rule type, a time) is
// that type's to check; a key no field has is the decoding's to refuse.
func findBadText(b []byte, t reflect.Type) (where string, err error) {
	t = indirect(t)
	switch {
	case t == reflect.TypeFor[json.RawMessage](),
		reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()),
		reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()):
		return "", nil
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		i := 0
		eachItem(b, func(it []byte) bool {
			where, err = findBadText(it, t.Elem())
			if err != nil {
				where = "[" + strconv.Itoa(i) + "]" + where
			}
			i++
			return err == nil
		})
		return where, err
	case t.Kind() != reflect.Struct:
		if len(b) > 0 && b[0] == '"' {
			if _, err := jsontext.String(b, true); err != nil {
				return "", fmt.Errorf("text that %w", err)
			}
			return "", nil
		}
		return "", jsontext.Unicode(b) // a value of any type: where in it
	}
	fields := cachedFields(t)
	eachMember(b, func(k string, raw []byte) bool {
		f, known := fieldOf(fields, k)
		if !known {
			return true
		}
		where, err = findBadText(raw, f.typ)
		if err != nil {
			where = "." + k + where
		}
		return err == nil
	})
	return where, err
}
