package rule

import (
	"encoding/json"
	"fmt"
	"time"
)

// Reeligibility says whether a user who received a follow-up may receive it
// again. The zero value means once only.
type Reeligibility struct {
	set    bool
	window time.Duration
}

// OnceOnly returns the zero Reeligibility: a user receives the follow-up at
// most once.
func OnceOnly() Reeligibility { return Reeligibility{} }

// ReeligibleAfter returns a re-eligibility window: a user who received the
// follow-up at time t may be scheduled again by a trigger at or after t+d.
// ReeligibleAfter(0) lets every trigger send.
func ReeligibleAfter(d time.Duration) Reeligibility { return Reeligibility{set: true, window: d} }

// IsZero reports whether r is once only.
func (r Reeligibility) IsZero() bool { return !r.set }

// Window returns the re-eligibility window and true, or 0 and false for
// once only.
func (r Reeligibility) Window() (time.Duration, bool) { return r.window, r.set }

// Allows reports whether a trigger at time trigger may schedule the
// follow-up for a user who last received it at received. The window's end is
// inclusive: a trigger exactly at received+window is allowed.
func (r Reeligibility) Allows(received, trigger time.Time) bool {
	return r.set && !trigger.Before(received.Add(r.window))
}

// Validate reports a window outside [0, 87600h] (ten years) as a
// [*ValidationError], or returns nil.
func (r Reeligibility) Validate() error {
	if r.set && (r.window < 0 || r.window > maxAfter) {
		return &ValidationError{Object: "reeligibility", Field: "after",
			Reason: fmt.Sprintf("%v is outside [0, %v]", r.window, maxAfter)}
	}
	return nil
}

// String describes r: "once only" or "re-eligible after 720h0m0s".
func (r Reeligibility) String() string {
	if !r.set {
		return "once only"
	}
	return "re-eligible after " + r.window.String()
}

// MarshalJSON implements [json.Marshaler]: null for once only, else
// {"after":"720h0m0s"}.
func (r Reeligibility) MarshalJSON() ([]byte, error) {
	if !r.set {
		return []byte("null"), nil
	}
	return json.Marshal(struct {
		After string `json:"after"`
	}{r.window.String()})
}

// reeligibilityJSON is the wire form: {"after":"720h0m0s"}.
type reeligibilityJSON struct {
	After *string `json:"after"`
}

// UnmarshalJSON implements [json.Unmarshaler]: null or {} is once only,
// {"after":"720h"} a window, a Go duration string. Unknown fields and
// durations that do not parse are errors, a [*ValidationError] whose Object
// is "reeligibility"; a key given twice is a [*DuplicateKeyError];
// malformed JSON (which json.Unmarshal reports before calling it) is
// neither. Decoding does not validate: call [Reeligibility.Validate].
func (r *Reeligibility) UnmarshalJSON(b []byte) error {
	var w reeligibilityJSON
	if err := decode(b, &w, "reeligibility", reeligibilityShapes, map[string]string{"after": durationShape}); err != nil {
		return withSentinel(err, "reeligibility", nil)
	}
	if w.After == nil {
		*r = Reeligibility{}
		return nil
	}
	d, err := time.ParseDuration(*w.After)
	if err != nil {
		return decoded(&ValidationError{Object: "reeligibility", Field: "after", Reason: err.Error() + "; want " + durationShape + " (no days: " + `"720h" is 30 days)`})
	}
	*r = ReeligibleAfter(d)
	return nil
}
