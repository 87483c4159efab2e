// Package errlist joins a list of errors, as errors.Join does, into an
// error whose text stays short however long the list: a batch of
// thousands of events that fail alike must not hand its caller a
// megabyte to log.
package errlist

import (
	"errors"
	"fmt"
	"strings"
)

// Shown is how many errors the text of a long list gives.
const Shown = 10

// list is errors joined, its text cut after Shown errors. It is used as a
// pointer, as errors.Join's error is: a caller may compare errors with ==
// or key a map with them, which a slice type would make panic.
type list struct{ errs []error }

func (l *list) Error() string {
	var b strings.Builder
	for i, err := range l.errs[:Shown] {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	if more := len(l.errs) - Shown; more == 1 {
		b.WriteString("\n… and 1 more error")
	} else {
		fmt.Fprintf(&b, "\n… and %d more errors", more)
	}
	return b.String()
}

// Unwrap returns every error of the list, for errors.Is and errors.As.
func (l *list) Unwrap() []error { return l.errs }

// Join is [errors.Join], nil errors left out, whose text past Shown
// errors gives the first Shown and how many more there are; errors.Is,
// errors.As and anything that walks Unwrap() []error see every one. Up to
// Shown errors, it returns errors.Join's error itself.
func Join(errs ...error) error {
	var l []error
	for _, err := range errs {
		if err != nil {
			l = append(l, err)
		}
	}
	if len(l) <= Shown {
		return errors.Join(l...)
	}
	return &list{errs: l}
}
