package errlist

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestJoin(t *testing.T) {
	if Join() != nil || Join(nil, nil) != nil {
		t.Fatal("Join of no error is not nil")
	}
	errA := errors.New("a")
	few := []error{errA, nil, errors.New("b")}
	if got, want := Join(few...).Error(), errors.Join(few...).Error(); got != want {
		t.Fatalf("a few errors read %q, want errors.Join's %q", got, want)
	}
	var many []error
	for i := range 1000 {
		many = append(many, fmt.Errorf("error %d", i))
	}
	many = append(many, nil, errA)
	err := Join(many...)
	text := err.Error()
	if !strings.HasPrefix(text, "error 0\nerror 1\n") || !strings.Contains(text, "error 9\n") || strings.Contains(text, "error 10") {
		t.Errorf("the text does not give the first ten errors: %q", text)
	}
	if !strings.HasSuffix(text, "\n… and 991 more errors") {
		t.Errorf("the text does not say how many more: %q", text)
	}
	if !errors.Is(err, errA) {
		t.Error("errors.Is does not see the last error")
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 1001 {
		t.Errorf("Unwrap gives %d errors, want 1001", n)
	}
}

// TestJoinedErrorsCompare: errors.Join's error is a pointer, which a
// caller may compare with == or use as a map key (to log an error once
// however often it comes back); so may it the error of a long list.
func TestJoinedErrorsCompare(t *testing.T) {
	many := func() error {
		var errs []error
		for i := range Shown + 1 {
			errs = append(errs, fmt.Errorf("error %d", i))
		}
		return Join(errs...)
	}
	a, b := many(), many()
	if a == b {
		t.Error("two lists are the same error")
	}
	seen := map[error]int{a: 1}
	seen[b]++
	if len(seen) != 2 {
		t.Errorf("a map keyed by the lists holds %d keys, want 2", len(seen))
	}
}

// TestJoinCountsOneMoreError: past ten, one error more reads so.
func TestJoinCountsOneMoreError(t *testing.T) {
	var errs []error
	for i := range Shown + 1 {
		errs = append(errs, fmt.Errorf("error %d", i))
	}
	if text := Join(errs...).Error(); !strings.HasSuffix(text, "\nerror 9\n… and 1 more error") {
		t.Errorf("eleven errors read %q", text)
	}
}
