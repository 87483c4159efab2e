// Package nilval tells whether a value a host hands in through an
// interface is unusable because it is nil inside.
package nilval

import "reflect"

// Is reports whether v is nil or holds a nil pointer or a nil function: a
// nil *sqlite.Store passed as a store.Store. Calling a method of such a
// value panics at its first use, often long after it was handed in, so
// constructors refuse it at once, where no nil pointer can be of use.
func Is(v any) bool {
	if v == nil {
		return true
	}
	switch r := reflect.ValueOf(v); r.Kind() {
	case reflect.Pointer, reflect.Func:
		return r.IsNil()
	}
	return false
}

// Func reports whether v is nil or holds a nil function (an
// ObserverFunc(nil)), which panics whenever it is called. A nil pointer
// is let through: its type's methods may work on a nil receiver (a
// host's metrics that are off).
func Func(v any) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Func && r.IsNil()
}
