package rule_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// A number that is not finite is refused for what it is, not for its Go
// type: a float64 is a number.
func TestConditionValueNotFiniteSaysSo(t *testing.T) {
	cases := []struct {
		c    rule.Condition
		want string
	}{
		{rule.Equal("a", math.Inf(1)), "eq needs a finite number, not +Inf"},
		{rule.NotEqual("a", math.Inf(-1)), "ne needs a finite number, not -Inf"},
		{rule.Equal("a", math.NaN()), "eq needs a finite number, not NaN"},
		{rule.Equal("a", float32(math.Inf(1))), "eq needs a finite number, not +Inf"},
		{rule.Equal("a", json.Number("1e400")), "eq needs a finite number, not 1e400"},
		{rule.Less("a", math.NaN()), "lt needs a finite number, not NaN"},
		{rule.GreaterOrEqual("a", json.Number("-1e400")), "ge needs a finite number, not -1e400"},
		{rule.OneOf("a", 1, math.Inf(1)), "in needs finite numbers, not +Inf"},
	}
	for _, tc := range cases {
		err := tc.c.Validate()
		require.ErrorIs(t, err, rule.ErrInvalidCondition, "%s", tc.c)
		require.Equal(t, []string{tc.want}, invalidReasons(err), "%s", tc.c)
	}

	// Anything else keeps naming its type.
	err := rule.Equal("a", []any{1}).Validate()
	require.ErrorContains(t, err, "eq needs a number, string, bool or null, not []interface {}")
	require.ErrorContains(t, rule.Less("a", "x").Validate(), "lt needs a finite number, not string")
	require.NoError(t, rule.Equal("a", json.Number("1e-400")).Validate(), "a number too small for a float64 reads as 0")
}

// invalidReasons returns the reasons of err's problems that wrap
// [rule.ErrInvalidCondition].
func invalidReasons(err error) []string {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var reasons []string
	for _, e := range errs {
		var ve *rule.ValidationError
		if errors.As(e, &ve) && errors.Is(ve, rule.ErrInvalidCondition) {
			reasons = append(reasons, ve.Reason)
		}
	}
	return reasons
}

// An event's json.Number beyond a float64's range reads as ±Inf, but a
// condition's operand does not: Validate refuses it, and Eval, which does
// not validate, holds an invalid condition false, as it does a float64
// +Inf. Otherwise 1e400 < 5 would hold as +Inf, and 1e500 would equal
// 1e400.
func TestConditionOperandNotFiniteEvalsFalse(t *testing.T) {
	big, minus := json.Number("1e400"), json.Number("-1e400")
	cases := []struct {
		c rule.Condition
		v any
	}{
		{rule.Less("n", big), 5},
		{rule.LessOrEqual("n", big), json.Number("1e300")},
		{rule.Greater("n", minus), 5},
		{rule.GreaterOrEqual("n", minus), json.Number("-1e500")},
		{rule.Equal("n", big), json.Number("1e500")},
		{rule.Equal("n", big), big},
		{rule.OneOf("n", "x", big), json.Number("1e401")},
		{rule.Less("n", math.Inf(1)), 5},
	}
	for _, tc := range cases {
		require.Error(t, tc.c.Validate(), "%s", tc.c)
		require.False(t, tc.c.Eval(map[string]any{"n": tc.v}), "%s on %v", tc.c, tc.v)
	}
	// The event's side still reads as its value.
	require.True(t, rule.Greater("n", 5).Eval(map[string]any{"n": big}))
	require.True(t, rule.NotEqual("n", big).Eval(map[string]any{"n": json.Number("1e500")}))
}

// A number that is not an integer within int64 or uint64 compares as the
// float64 nearest to it (triggers-and-delays.md): one just past
// math.MaxFloat64 that still rounds to it equals it, 1e-400 is 0, and
// only one too large to round to a float64 reads as ±Inf.
func TestConditionNumbersAtAFloat64sEdges(t *testing.T) {
	eval := func(c rule.Condition, v string) bool {
		require.NoError(t, c.Validate(), "%s", c)
		return c.Eval(map[string]any{"n": json.Number(v)})
	}
	const rounds, overflows = "1.7976931348623158e308", "1.7976931348623159e308"
	require.True(t, eval(rule.Equal("n", math.MaxFloat64), rounds))
	require.False(t, eval(rule.Greater("n", math.MaxFloat64), rounds))
	require.True(t, eval(rule.Greater("n", math.MaxFloat64), overflows))
	require.True(t, eval(rule.Less("n", -math.MaxFloat64), "-"+overflows))
	require.True(t, eval(rule.Equal("n", 0), "1e-400"))
	require.True(t, eval(rule.Equal("n", 0), "-1e-400"))
	require.False(t, eval(rule.Greater("n", 0), "1e-400"))
	require.True(t, eval(rule.Equal("n", float64(1<<64)), "18446744073709551617"))
}
