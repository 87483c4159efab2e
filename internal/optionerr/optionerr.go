// Package optionerr marks the errors of constructors and their options
// (the webhook packages', the dashboard's) so that errors.Is finds the
// package's ErrInvalidOption in them, while their text stays what it was.
package optionerr

// Mark returns err marked as sentinel: its text is err's, errors.Is finds
// sentinel and everything err wraps, and errors.As finds what err holds.
// A nil err stays nil.
func Mark(sentinel, err error) error {
	if err == nil {
		return nil
	}
	return &marked{sentinel: sentinel, err: err}
}

// marked is err, which errors.Is also takes for sentinel.
type marked struct {
	sentinel error
	err      error
}

func (m *marked) Error() string { return m.err.Error() }

func (m *marked) Unwrap() error { return m.err }

func (m *marked) Is(target error) bool { return target == m.sentinel }
