package event

import (
	"errors"
	"strings"
)

// Sentinel errors. Validation failures wrap them inside a [*ValidationError],
// so both errors.Is (what went wrong) and errors.As (which field) work.
var (
	// ErrUnknownKind reports a kind name this version does not know.
	ErrUnknownKind = errors.New("unknown event kind")
	// ErrUnknownChannel reports a channel name this version does not know.
	ErrUnknownChannel = errors.New("unknown channel")
	// ErrTooLarge reports an event over the configured [Limits], or an
	// identifier over [MaxIDBytes].
	ErrTooLarge = errors.New("over the size limit")
	// ErrUnstorable reports a value that some store cannot keep exactly
	// (see the package documentation).
	ErrUnstorable = errors.New("no store can hold this value")
)

// ValidationError says which field of an object is wrong and why. Validate
// methods in this module return one per problem, joined with errors.Join;
// use errors.As to get the first.
//
// The same type serves events and campaigns (rule.ValidationError is an
// alias of it), so one errors.As target catches both.
type ValidationError struct {
	Object string // what was validated: "event", "campaign", "condition"…
	Field  string // the field's JSON path, e.g. "user_id" or "triggers[1].campaign_id"; a part of a campaign decoded from JSON gives its own field ("after" of a "delay")
	Reason string // what is wrong, in words
	Err    error  // the sentinel error behind it, if any (errors.Is works through it)
}

// Error implements error: "event: user_id: required", with the sentinel
// error's text in parentheses when there is one: "campaign:
// triggers[0].campaign_id: "x" is this campaign (a campaign cannot trigger
// on itself)".
func (e *ValidationError) Error() string {
	s := e.Object
	if e.Field != "" {
		if s != "" {
			s += ": "
		}
		s += e.Field
	}
	if s != "" {
		s += ": "
	}
	s += e.Reason
	if e.Err != nil && !strings.Contains(e.Reason, e.Err.Error()) {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

// Unwrap returns the sentinel error behind the problem, or nil.
func (e *ValidationError) Unwrap() error { return e.Err }

// Problems collects validation errors for one object. Its zero value is
// ready to use; [Problems.Err] joins what was collected. A Problems is not
// safe for concurrent use.
type Problems struct {
	// Object names what is validated ("event", "campaign"…): it becomes
	// the Object of every [ValidationError] that Add and AddErr record,
	// replacing a nested error's own.
	Object string
	errs   []error
}

// Add records that field is wrong for reason, wrapping the optional sentinel.
func (p *Problems) Add(field, reason string, sentinel error) {
	p.errs = append(p.errs, &ValidationError{Object: p.Object, Field: field, Reason: reason, Err: sentinel})
}

// AddErr records an error found while validating a nested value under
// prefix (e.g. "triggers[0]"): validation errors get the prefix prepended
// to their field, other errors are kept as they are.
func (p *Problems) AddErr(prefix string, err error) {
	if err == nil {
		return
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		if _, isVE := err.(*ValidationError); !isVE {
			for _, e := range joined.Unwrap() {
				p.AddErr(prefix, e)
			}
			return
		}
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		c := *ve
		c.Object = p.Object
		if prefix != "" {
			if c.Field != "" {
				c.Field = prefix + "." + c.Field
			} else {
				c.Field = prefix
			}
		}
		p.errs = append(p.errs, &c)
		return
	}
	p.errs = append(p.errs, err)
}

// Err returns nil when nothing was recorded, the single error when one was,
// and their errors.Join otherwise.
func (p *Problems) Err() error {
	switch len(p.errs) {
	case 0:
		return nil
	case 1:
		return p.errs[0]
	}
	return errors.Join(p.errs...)
}
