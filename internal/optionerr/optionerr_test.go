package optionerr

import (
	"errors"
	"fmt"
	"testing"
)

func TestMark(t *testing.T) {
	sentinel := errors.New("invalid option")
	inner := errors.New("inner")
	err := Mark(sentinel, fmt.Errorf("pkg: bad: %w", inner))
	if got, want := err.Error(), "pkg: bad: inner"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, sentinel) || !errors.Is(err, inner) {
		t.Errorf("errors.Is(%v, sentinel or inner) = false", err)
	}
	if Mark(sentinel, nil) != nil {
		t.Error("Mark(sentinel, nil) != nil")
	}
}
