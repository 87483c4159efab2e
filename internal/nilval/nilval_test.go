package nilval_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/internal/nilval"
)

type stringer interface{ String() string }

type ptr struct{}

func (*ptr) String() string { return "" }

type fn func() string

func (f fn) String() string { return f() }

type value struct{}

func (value) String() string { return "" }

type table map[string]string

func (table) String() string { return "" }

func TestIsAndFunc(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v       stringer
		is, fun bool
	}{
		{"nil interface", nil, true, true},
		{"nil pointer", (*ptr)(nil), true, false},
		{"nil function", fn(nil), true, true},
		{"pointer", &ptr{}, false, false},
		{"function", fn(func() string { return "" }), false, false},
		{"value", value{}, false, false},
		{"nil map, usable", table(nil), false, false},
	} {
		if got := nilval.Is(tc.v); got != tc.is {
			t.Errorf("%s: Is = %v, want %v", tc.name, got, tc.is)
		}
		if got := nilval.Func(tc.v); got != tc.fun {
			t.Errorf("%s: Func = %v, want %v", tc.name, got, tc.fun)
		}
	}
}
