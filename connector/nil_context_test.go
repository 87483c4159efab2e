package connector_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// Every Engine method that takes a context refuses a nil one with an error
// wrapping ErrNilContext that names the method, instead of panicking deep
// in the store or the instrumentation. Methods are found by reflection, so
// that one added later is held to it too.
func TestEveryMethodRefusesANilContext(t *testing.T) {
	e, err := connector.New(store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithDecisionLog(100, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctxType := reflect.TypeFor[context.Context]()
	errType := reflect.TypeFor[error]()
	v := reflect.ValueOf(e)
	checked := 0
	for i := range v.NumMethod() {
		m := v.Type().Method(i)
		ft := m.Type // with the receiver first
		if ft.NumIn() < 2 || ft.In(1) != ctxType {
			continue
		}
		args := []reflect.Value{reflect.Zero(ctxType)}
		for j := 2; j < ft.NumIn(); j++ {
			if ft.IsVariadic() && j == ft.NumIn()-1 {
				break
			}
			args = append(args, reflect.Zero(ft.In(j)))
		}
		var out []reflect.Value
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s(nil, …) panics: %v", m.Name, r)
				}
			}()
			out = v.Method(i).Call(args)
		}()
		if out == nil {
			continue
		}
		last := out[len(out)-1]
		if last.Type() != errType {
			t.Errorf("%s takes a context but returns no error", m.Name)
			continue
		}
		err, _ := last.Interface().(error)
		if !errors.Is(err, connector.ErrNilContext) {
			t.Errorf("%s(nil, …) = %v, want an error wrapping ErrNilContext", m.Name, err)
		} else if want := "given to " + m.Name + " "; !strings.Contains(err.Error(), want) {
			t.Errorf("%s(nil, …): %q does not name the method", m.Name, err)
		}
		checked++
	}
	if checked < 17 {
		t.Errorf("checked %d methods, want the 17 that take a context at least", checked)
	}
}
