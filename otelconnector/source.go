package otelconnector

import (
	"errors"
	"fmt"

	"github.com/campaignconnector/campaignconnector/connector"
	"go.opentelemetry.io/otel/attribute"
)

// ErrNilSource reports a nil source given to [Telemetry.ObservePending],
// [Telemetry.ObserveEvents] or [Telemetry.ObserveClockSkew]: a nil
// interface, or a nil *connector.Engine in a non-nil one.
var ErrNilSource = errors.New("otelconnector: nil source")

// sourceAttrs checks src, given to method, and returns the attributes of
// its observations: [AttrNamespace] when src has a Namespace() string
// method that returns a non-empty namespace. Telling a nil pointer of any
// type from a usable value would take reflection: only a nil
// *connector.Engine, the usual source, is caught by type; a panic of
// another's Namespace method is returned as an error.
func sourceAttrs(method string, src any) (attribute.Set, error) {
	switch s := src.(type) {
	case nil:
		return attribute.NewSet(), fmt.Errorf("%w: %s got nil", ErrNilSource, method)
	case *connector.Engine:
		if s == nil {
			return attribute.NewSet(), fmt.Errorf("%w: %s got a nil *connector.Engine", ErrNilSource, method)
		}
	}
	n, ok := src.(interface{ Namespace() string })
	if !ok {
		return attribute.NewSet(), nil
	}
	ns, err := protect(func() (string, error) { return n.Namespace(), nil })
	if err != nil {
		return attribute.NewSet(), fmt.Errorf("otelconnector: %s: reading the source's namespace: %w", method, err)
	}
	if ns == "" {
		return attribute.NewSet(), nil
	}
	return attribute.NewSet(AttrNamespace.String(clip(ns))), nil
}

// protect returns f's results, or an error naming f's panic. The sources'
// methods run in the metric reader's collections, which do not recover
// panics: one from a source (a nil pointer of the host's type, say) would
// crash the process, from the goroutine of a periodic reader.
func protect[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}
