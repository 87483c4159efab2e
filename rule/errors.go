package rule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/campaignconnector/campaignconnector/event"
)

// ValidationError says which field of a campaign (or of one of its parts) is
// wrong and why. It is the same type as [event.ValidationError], so one
// errors.As target serves events and campaigns.
type ValidationError = event.ValidationError

// Sentinel errors, wrapped by the [*ValidationError] values that Validate
// methods return, so callers can test them with errors.Is.
//
// Every error decoding a rule type's JSON (a value of the wrong JSON
// type, a field the type does not have, a value that does not parse) is
// a [*ValidationError] too, naming the part (Object "delay", "condition",
// "send_window"…) and its field; a delay's wraps [ErrInvalidDelay] and a
// condition's [ErrInvalidCondition], the others no sentinel. Malformed
// JSON and a key given twice (a [*DuplicateKeyError]) are the exceptions.
var (
	// ErrExceptionWithoutDelay: exceptions only make sense while a user
	// waits, so a campaign with exceptions needs a non-immediate delay.
	ErrExceptionWithoutDelay = errors.New("exceptions need a non-immediate delay")
	// ErrSelfTrigger: a follow-up cannot trigger on its own interactions.
	ErrSelfTrigger = errors.New("a campaign cannot trigger on itself")
	// ErrInvalidTransition: the lifecycle does not allow this change of
	// state (see [State]).
	ErrInvalidTransition = errors.New("invalid lifecycle transition")
	// ErrInvalidDelay: a delay out of range or malformed. Every error
	// decoding a [Delay] wraps it (a value that does not parse, a value of
	// the wrong JSON type, an unknown field, two kinds at once), inside a
	// *ValidationError naming the field, except a key given twice (a
	// [*DuplicateKeyError]).
	ErrInvalidDelay = errors.New("invalid delay")
	// ErrInvalidCondition: a property condition that cannot be evaluated
	// (unknown operator, wrong value type). Every error decoding a
	// [Condition], alone or in a "where" list, wraps it too (a value of
	// the wrong JSON type, an unknown field), inside a *ValidationError
	// whose Object is "condition", except a key given twice (a
	// [*DuplicateKeyError]). An operator that does not exist decodes, and
	// Validate reports it.
	ErrInvalidCondition = errors.New("invalid condition")
)

// strictUnmarshal decodes one JSON value into v, rejecting unknown fields
// (campaign definitions are written by people: a misspelt field must not be
// silently ignored) and decoding numbers as json.Number.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	return nil
}
