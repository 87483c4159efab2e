package webhook

import (
	"errors"
	"fmt"
	"strings"
)

// maxErrorsShown bounds how many errors the text of a request's error
// gives: a batch of 5,000 items that all miss the user ID (a renamed
// custom argument) would otherwise hand the error callback, at every
// request, a text of half a megabyte to log.
const maxErrorsShown = 10

// errorList is errs joined as [errors.Join] joins them, its text cut after
// maxErrorsShown errors with how many more there are: errors.Is,
// errors.As and [ItemErrors] see every one.
type errorList []error

func (l errorList) Error() string {
	var b strings.Builder
	for i, err := range l[:maxErrorsShown] {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	fmt.Fprintf(&b, "\n… and %d more errors", len(l)-maxErrorsShown)
	return b.String()
}

func (l errorList) Unwrap() []error { return l }

// joinErrors is [errors.Join] for the errors of one request: nil errors
// are left out, and past maxErrorsShown errors the text gives the first
// ones and how many more there are.
func joinErrors(errs ...error) error {
	var l errorList
	for _, err := range errs {
		if err != nil {
			l = append(l, err)
		}
	}
	if len(l) <= maxErrorsShown {
		return errors.Join(l...)
	}
	return l
}
