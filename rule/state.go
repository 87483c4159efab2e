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
// [ErrInvalidTransition] that names both states.
func (s State) Transition(to State) error {
	if s.CanBecome(to) {
		return nil
	}
	return fmt.Errorf("rule: %w: %s → %s", ErrInvalidTransition, s, to)
}
