package event

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/campaignconnector/campaignconnector/internal/jsontext"
)

// UnmarshalJSON implements [json.Unmarshaler]. Property numbers decode as
// [json.Number] so they round-trip exactly; an unknown kind is an error
// wrapping [ErrUnknownKind]. Unknown fields are ignored, so logs written by
// later versions still read. Text that is not valid Unicode, anywhere in
// the document (bytes that are not UTF-8, a \u escape of half a surrogate
// pair), is an error wrapping [ErrUnstorable]: encoding/json would read it
// as U+FFFD, so that "ann\xff" would become another user that validates.
// Decoding does not otherwise validate the event: call [Event.Validate]
// (the engine does).
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event // no methods: no recursion
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("event: decoding JSON: %w", err)
	}
	if err := jsontext.Unicode(b[:dec.InputOffset()]); err != nil {
		return fmt.Errorf("event: decoding JSON: %w, which would read as U+FFFD: %w", err, ErrUnstorable)
	}
	*e = Event(p)
	return nil
}
