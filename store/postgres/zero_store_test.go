package postgres_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// A Store neither Open nor New made (the zero value) is not open: every
// method that returns an error answers one wrapping store.ErrClosed that
// says to use Open or New, where several dereferenced a nil pool; Close
// and Notify do nothing. The methods are found by reflection, and called
// with a live context and zero arguments otherwise, so that one added
// later is held to it too. No server is needed.
func TestTheZeroStoreIsNotOpen(t *testing.T) {
	var s postgres.Store
	v := reflect.ValueOf(&s)
	ctxType := reflect.TypeFor[context.Context]()
	errType := reflect.TypeFor[error]()
	checked := 0
	for i := range v.NumMethod() {
		m := v.Type().Method(i)
		if m.Name == "Close" {
			continue // last: it would make every later call ErrClosed by itself
		}
		ft := m.Type
		var args []reflect.Value
		for j := 1; j < ft.NumIn(); j++ {
			if ft.IsVariadic() && j == ft.NumIn()-1 {
				break
			}
			if ft.In(j) == ctxType {
				args = append(args, reflect.ValueOf(context.Background()))
			} else {
				args = append(args, reflect.Zero(ft.In(j)))
			}
		}
		var out []reflect.Value
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s panics on a zero Store: %v", m.Name, r)
				}
			}()
			out = v.Method(i).Call(args)
		}()
		if len(out) == 0 || out[len(out)-1].Type() != errType {
			continue
		}
		err, _ := out[len(out)-1].Interface().(error)
		switch {
		case err == nil && (m.Name == "Claim" || m.Name == "AppendInteractions"):
			// Nothing to do for zero arguments (a claim of 0, no
			// interactions): answered before the store is asked.
		case !errors.Is(err, store.ErrClosed) || !strings.Contains(err.Error(), "use Open or New"):
			t.Errorf("%s on a zero Store: %v, want an error wrapping store.ErrClosed that says to use Open or New", m.Name, err)
		}
		checked++
	}
	if checked < 20 {
		t.Errorf("checked %d methods, want the 20 or more that return an error", checked)
	}
	ch, stop := s.Notify("")
	stop()
	select {
	case <-ch:
		t.Error("a zero Store notified")
	default:
	}
	s.Close()
	s.Close()
}
