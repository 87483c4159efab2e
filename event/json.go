package event

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// UnmarshalJSON implements [json.Unmarshaler]. Property numbers decode as
// [json.Number] so they round-trip exactly; an unknown kind is an error
// wrapping [ErrUnknownKind]. Unknown fields are ignored, so logs written by
// later versions still read. Decoding does not validate the event: call
// [Event.Validate] (the engine does).
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event // no methods: no recursion
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("event: decoding JSON: %w", err)
	}
	*e = Event(p)
	return nil
}
