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

func TestIs(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    stringer
		want bool
	}{
		{"nil interface", nil, true},
		{"nil pointer", (*ptr)(nil), true},
		{"nil function", fn(nil), true},
		{"pointer", &ptr{}, false},
		{"function", fn(func() string { return "" }), false},
		{"value", value{}, false},
		{"nil map, usable", table(nil), false},
	} {
		if got := nilval.Is(tc.v); got != tc.want {
			t.Errorf("%s: Is = %v, want %v", tc.name, got, tc.want)
		}
	}
}
