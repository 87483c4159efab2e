package rule

import "fmt"

// State is a campaign's place in its lifecycle: draft → active ⇄ stopped,
// and any state → archived, which is final.
type State string

// The lifecycle states. New campaigns are drafts.
const (
	Draft    State = "draft"
	Active   State = "active"
	Stopped  State = "stopped"
	Archived State = "archived"
)

// Valid reports whether s is one of the four states.
func (s State) Valid() bool {
	switch s {
	case Draft, Active, Stopped, Archived:
		return true
	}
	return false
}

// CanBecome reports whether the lifecycle allows s → to.
func (s State) CanBecome(to State) bool {
	switch to {
	case Active:
		return s == Draft || s == Stopped
	case Stopped:
		return s == Active
	case Archived:
		return s == Draft || s == Active || s == Stopped
	}
	return false
}

// Transition returns nil if s → to is allowed, else an error wrapping
// [ErrInvalidTransition] that says why in words: "rule: the campaign is
// already active", "rule: the campaign is archived, which is final".
func (s State) Transition(to State) error {
	if s.CanBecome(to) {
		return nil
	}
	return &transitionError{from: s, to: to}
}

// transitionError is a change of state the lifecycle does not allow.
type transitionError struct{ from, to State }

func (e *transitionError) Error() string {
	switch {
	case !e.from.Valid() || !e.to.Valid():
		return fmt.Sprintf("rule: %v: %s → %s", ErrInvalidTransition, e.from, e.to)
	case e.from == e.to && e.to == Draft:
		return "rule: the campaign is already a draft"
	case e.from == e.to:
		return "rule: the campaign is already " + string(e.to)
	case e.from == Archived:
		return "rule: the campaign is archived, which is final"
	case e.to == Draft:
		return "rule: a campaign cannot go back to draft"
	case e.from == Draft && e.to == Stopped:
		return "rule: a draft cannot be stopped: it was never published"
	}
	return fmt.Sprintf("rule: %v: %s → %s", ErrInvalidTransition, e.from, e.to)
}

// Unwrap returns [ErrInvalidTransition], for errors.Is.
func (e *transitionError) Unwrap() error { return ErrInvalidTransition }
