// Package nilval tells whether a value a host hands in through an
// interface is unusable because it is nil inside.
package nilval

import "reflect"

// Is reports whether v is nil or holds a nil pointer or a nil function: a
// nil *sqlite.Store passed as a store.Store, an ObserverFunc(nil). Calling
// a method of such a value panics at its first use, often long after it
// was handed in, so constructors refuse it at once.
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
