package rule

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/campaignconnector/campaignconnector/event"
)

// Operator is a property condition's operator. Its value is the wire name
// ("eq", "ne"…). Each operator has a constructor of the same name that
// builds a [Condition]: [OpEqual] and [Equal], [OpOneOf] and [OneOf]…
type Operator string

// The operators. A property the event does not have fails every condition
// except [OpNotEqual], which it satisfies (the property does not equal the
// value).
const (
	// OpEqual ("eq"): equal. Numbers compare by value whatever their Go
	// type (int64(3), 3.0 and json.Number("3") are equal; a float32 is the
	// decimal its JSON form writes, float32(9.99) is 9.99, as stores that
	// keep it as JSON read it back); strings, booleans and null compare
	// as such; lists and objects are never equal.
	OpEqual Operator = "eq"
	// OpNotEqual ("ne"): not [OpEqual].
	OpNotEqual Operator = "ne"
	// OpLess ("lt"), OpLessOrEqual ("le"), OpGreater ("gt") and
	// OpGreaterOrEqual ("ge"): numeric comparisons; false when either side
	// is not a number.
	OpLess           Operator = "lt"
	OpLessOrEqual    Operator = "le"
	OpGreater        Operator = "gt"
	OpGreaterOrEqual Operator = "ge"
	// OpOneOf ("in"): equal ([OpEqual]) to one of the values of a list.
	OpOneOf Operator = "in"
	// OpPresent ("exists"): the property is present (even if null).
	OpPresent Operator = "exists"
	// OpHasPrefix ("prefix"): the property is a string that starts with
	// the value.
	OpHasPrefix Operator = "prefix"
	// OpHasSubstring ("contains"): the property is a string that contains
	// the value.
	OpHasSubstring Operator = "contains"
)

// Op is the former name of [Operator].
//
// Deprecated: use Operator.
type Op = Operator

// The former names of the operators, kept so that existing code compiles.
const (
	// Eq is [OpEqual].
	//
	// Deprecated: use OpEqual.
	Eq = OpEqual
	// Ne is [OpNotEqual].
	//
	// Deprecated: use OpNotEqual.
	Ne = OpNotEqual
	// Lt is [OpLess].
	//
	// Deprecated: use OpLess.
	Lt = OpLess
	// Le is [OpLessOrEqual].
	//
	// Deprecated: use OpLessOrEqual.
	Le = OpLessOrEqual
	// Gt is [OpGreater].
	//
	// Deprecated: use OpGreater.
	Gt = OpGreater
	// Ge is [OpGreaterOrEqual].
	//
	// Deprecated: use OpGreaterOrEqual.
	Ge = OpGreaterOrEqual
	// In is [OpOneOf].
	//
	// Deprecated: use OpOneOf.
	In = OpOneOf
	// Exists is [OpPresent].
	//
	// Deprecated: use OpPresent.
	Exists = OpPresent
	// Prefix is [OpHasPrefix].
	//
	// Deprecated: use OpHasPrefix.
	Prefix = OpHasPrefix
	// Contains is [OpHasSubstring].
	//
	// Deprecated: use OpHasSubstring.
	Contains = OpHasSubstring
)

// Condition tests one property of an event. Triggers and exceptions hold a
// list of them in Where; all must hold (AND).
type Condition struct {
	Property string   `json:"property"`        // top-level key of [event.Event.Properties]
	Op       Operator `json:"op"`              // the operator
	Value    any      `json:"value,omitempty"` // the operand: a number, string or bool; a list for OpOneOf; nothing for OpPresent
}

// Equal returns the condition "property equals v".
func Equal(property string, v any) Condition { return Condition{property, OpEqual, v} }

// NotEqual returns the condition "property does not equal v".
func NotEqual(property string, v any) Condition { return Condition{property, OpNotEqual, v} }

// Less returns the condition "property < v" (numbers).
func Less(property string, v any) Condition { return Condition{property, OpLess, v} }

// LessOrEqual returns the condition "property ≤ v" (numbers).
func LessOrEqual(property string, v any) Condition { return Condition{property, OpLessOrEqual, v} }

// Greater returns the condition "property > v" (numbers).
func Greater(property string, v any) Condition { return Condition{property, OpGreater, v} }

// GreaterOrEqual returns the condition "property ≥ v" (numbers).
func GreaterOrEqual(property string, v any) Condition {
	return Condition{property, OpGreaterOrEqual, v}
}

// OneOf returns the condition "property equals one of values".
func OneOf(property string, values ...any) Condition {
	return Condition{property, OpOneOf, append([]any(nil), values...)}
}

// Present returns the condition "the event has property".
func Present(property string) Condition { return Condition{Property: property, Op: OpPresent} }

// HasPrefix returns the condition "property is a string starting with s".
func HasPrefix(property, s string) Condition { return Condition{property, OpHasPrefix, s} }

// HasSubstring returns the condition "property is a string containing s".
func HasSubstring(property, s string) Condition { return Condition{property, OpHasSubstring, s} }

// Validate reports a condition that cannot be evaluated as a
// [*ValidationError] wrapping [ErrInvalidCondition]. A number operand must
// be finite: NaN, +Inf, -Inf and a json.Number too large for a float64
// ("1e400") are refused with a reason that names the value ("eq needs a
// finite number, not +Inf").
func (c Condition) Validate() error {
	p := event.Problems{Object: "condition"}
	if c.Property == "" {
		p.Add("property", "required", ErrInvalidCondition)
	}
	addText(&p, "property", c.Property)
	if err := event.CheckValue(c.Value); errors.Is(err, event.ErrUnstorable) {
		// A value of the right type that no store keeps: a json.Number
		// that is not a JSON number, a string with a NUL byte…
		p.Add("value", err.Error(), event.ErrUnstorable)
	}
	switch c.Op {
	case OpEqual, OpNotEqual:
		if nf, ok := notFinite(c.Value); ok {
			p.Add("value", fmt.Sprintf("%s needs a finite number, not %s", c.Op, nf), ErrInvalidCondition)
		} else if !isScalar(c.Value) {
			p.Add("value", fmt.Sprintf("%s needs a number, string, bool or null, not %T", c.Op, c.Value), ErrInvalidCondition)
		}
	case OpLess, OpLessOrEqual, OpGreater, OpGreaterOrEqual:
		if nf, ok := notFinite(c.Value); ok {
			p.Add("value", fmt.Sprintf("%s needs a finite number, not %s", c.Op, nf), ErrInvalidCondition)
		} else if _, ok := toNumber(c.Value); !ok {
			p.Add("value", fmt.Sprintf("%s needs a finite number, not %T", c.Op, c.Value), ErrInvalidCondition)
		}
	case OpOneOf:
		list, ok := c.Value.([]any)
		if !ok || len(list) == 0 {
			p.Add("value", "in needs a non-empty list", ErrInvalidCondition)
		}
		for i, v := range list {
			if nf, ok := notFinite(v); ok {
				p.Add(fmt.Sprintf("value[%d]", i), fmt.Sprintf("in needs finite numbers, not %s", nf), ErrInvalidCondition)
			} else if !isScalar(v) {
				p.Add(fmt.Sprintf("value[%d]", i), fmt.Sprintf("in needs numbers, strings, bools or null, not %T", v), ErrInvalidCondition)
			}
		}
	case OpPresent:
		if c.Value != nil {
			p.Add("value", "exists takes no value", ErrInvalidCondition)
		}
	case OpHasPrefix, OpHasSubstring:
		if s, ok := c.Value.(string); !ok || s == "" {
			p.Add("value", fmt.Sprintf("%s needs a non-empty string", c.Op), ErrInvalidCondition)
		}
	case "":
		p.Add("op", "required", ErrInvalidCondition)
	default:
		p.Add("op", fmt.Sprintf("unknown operator %q", string(c.Op)), ErrInvalidCondition)
	}
	return p.Err()
}

// Eval reports whether props satisfy c. An invalid condition is false.
func (c Condition) Eval(props map[string]any) bool {
	v, present := props[c.Property]
	switch c.Op {
	case OpPresent:
		return present
	case OpNotEqual:
		return !present || !valuesEqual(v, c.Value)
	}
	if !present {
		return false
	}
	switch c.Op {
	case OpEqual:
		return valuesEqual(v, c.Value)
	case OpLess, OpLessOrEqual, OpGreater, OpGreaterOrEqual:
		a, ok1 := toNumber(v)
		b, ok2 := toOperand(c.Value)
		if !ok1 || !ok2 {
			return false
		}
		cmp := a.cmp(b)
		switch c.Op {
		case OpLess:
			return cmp < 0
		case OpLessOrEqual:
			return cmp <= 0
		case OpGreater:
			return cmp > 0
		default:
			return cmp >= 0
		}
	case OpOneOf:
		list, _ := c.Value.([]any)
		for _, want := range list {
			if valuesEqual(v, want) {
				return true
			}
		}
		return false
	case OpHasPrefix, OpHasSubstring:
		s, ok1 := v.(string)
		sub, ok2 := c.Value.(string)
		if !ok1 || !ok2 {
			return false
		}
		if c.Op == OpHasPrefix {
			return strings.HasPrefix(s, sub)
		}
		return strings.Contains(s, sub)
	}
	return false
}

// String renders the condition for explanations: `price > 50`.
func (c Condition) String() string {
	sym := map[Operator]string{OpEqual: "=", OpNotEqual: "≠", OpLess: "<", OpLessOrEqual: "≤", OpGreater: ">", OpGreaterOrEqual: "≥", OpOneOf: "in", OpHasPrefix: "starts with", OpHasSubstring: "contains"}[c.Op]
	if c.Op == OpPresent {
		return c.Property + " exists"
	}
	if sym == "" {
		sym = string(c.Op)
	}
	b, _ := json.Marshal(c.Value)
	return c.Property + " " + sym + " " + string(b)
}

// isScalar reports whether v is null, a bool, a string or a number (a
// json.Number beyond a float64's range included: callers refuse it first).
func isScalar(v any) bool {
	switch v.(type) {
	case nil, bool, string:
		return true
	}
	_, ok := toNumber(v)
	return ok
}

// notFinite returns v as written when v is a number whose value is not
// finite: a float that is NaN or infinite, or a json.Number beyond the
// range of a float64 ("1e400").
func notFinite(v any) (string, bool) {
	var f float64
	switch x := v.(type) {
	case float32:
		f = float64(x)
	case float64:
		f = x
	case json.Number:
		// Only a well-formed number too large for a float64: "NaN" or
		// "Inf" is no JSON number at all, which CheckValue reports.
		_, err := strconv.ParseFloat(string(x), 64)
		return string(x), errors.Is(err, strconv.ErrRange)
	default:
		return "", false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f), true
	}
	return "", false
}

// valuesEqual implements OpEqual, a the event's value and b the
// condition's: numbers by value, other scalars by ==.
func valuesEqual(a, b any) bool {
	na, okA := toNumber(a)
	nb, okB := toOperand(b)
	if okA || okB {
		return okA && okB && na.cmp(nb) == 0
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	}
	return false
}

// number is a JSON number of any Go type, compared exactly: integers that
// fit 64 bits as integers, everything else as a float64.
type number struct {
	kind uint8 // 0 int64, 1 uint64 above MaxInt64, 2 float64
	i    int64
	u    uint64
	f    float64
}

func toNumber(v any) (number, bool) {
	switch x := v.(type) {
	case int:
		return number{i: int64(x)}, true
	case int8:
		return number{i: int64(x)}, true
	case int16:
		return number{i: int64(x)}, true
	case int32:
		return number{i: int64(x)}, true
	case int64:
		return number{i: x}, true
	case uint:
		return fromUint(uint64(x)), true
	case uint8:
		return number{i: int64(x)}, true
	case uint16:
		return number{i: int64(x)}, true
	case uint32:
		return number{i: int64(x)}, true
	case uint64:
		return fromUint(x), true
	case uintptr:
		return fromUint(uint64(x)), true
	case float32:
		// As the decimal its JSON form writes (the shortest that reads
		// back as x), which is what a store keeping the value as JSON
		// reads back: float32(9.99) is 9.99, not 9.98999977111816.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
		return fromFloat(f)
	case float64:
		return fromFloat(x)
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return number{i: i}, true
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return fromUint(u), true
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0) {
			// A JSON number beyond a float64's range ("1e400"), which
			// events may carry: above (or below) every finite operand,
			// as its value is. Validate and toOperand refuse it as an
			// operand, so it is never compared with another of its kind.
			return number{kind: 2, f: f}, true
		}
		if err != nil {
			return number{}, false
		}
		return fromFloat(f)
	}
	return number{}, false
}

// toOperand is toNumber for a condition's operand, which must be finite:
// a json.Number beyond a float64's range, which Validate refuses, is no
// number here, so that the invalid condition is false (as with a float64
// +Inf) rather than one infinity equal to another.
func toOperand(v any) (number, bool) {
	n, ok := toNumber(v)
	return n, ok && !math.IsInf(n.f, 0)
}

func fromUint(u uint64) number {
	if u <= math.MaxInt64 {
		return number{i: int64(u)}
	}
	return number{kind: 1, u: u}
}

func fromFloat(f float64) (number, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return number{}, false
	}
	return number{kind: 2, f: f}, true
}

// cmp returns -1, 0 or +1, exactly (no rounding of large integers).
func (a number) cmp(b number) int {
	if a.kind == 2 && b.kind == 2 {
		return cmpOrdered(a.f, b.f)
	}
	if b.kind == 2 {
		return a.cmpFloat(b.f)
	}
	if a.kind == 2 {
		return -b.cmpFloat(a.f)
	}
	switch {
	case a.kind == 0 && b.kind == 0:
		return cmpOrdered(a.i, b.i)
	case a.kind == 1 && b.kind == 1:
		return cmpOrdered(a.u, b.u)
	case a.kind == 1: // a above MaxInt64, b an int64
		return 1
	}
	return -1
}

// cmpFloat compares an integer number with a finite float exactly.
func (a number) cmpFloat(f float64) int {
	const two63, two64 = 9223372036854775808.0, 18446744073709551616.0
	t := math.Trunc(f)
	frac := cmpOrdered(0, f-t) // -1 when f has a positive fraction: the integer is below f
	if a.kind == 0 {
		switch {
		case f >= two63:
			return -1
		case f < -two63:
			return 1
		}
		if c := cmpOrdered(a.i, int64(t)); c != 0 {
			return c
		}
		return frac
	}
	switch {
	case f >= two64:
		return -1
	case f < two63:
		return 1
	}
	if c := cmpOrdered(a.u, uint64(t)); c != 0 {
		return c
	}
	return frac
}

func cmpOrdered[T int64 | uint64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
