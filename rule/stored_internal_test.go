package rule

import (
	"reflect"
	"testing"
)

// Every rule type a campaign holds that decodes itself is in wireTypes:
// the stored decoding could not see the fields of one that is not, and
// would pass a newer version's fields in it to the strict decoding.
func TestWireTypesCoverEveryPartThatDecodesItself(t *testing.T) {
	pkg := reflect.TypeFor[Campaign]().PkgPath()
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(typ reflect.Type) {
		typ = indirect(typ)
		if seen[typ] {
			return
		}
		seen[typ] = true
		if wire, ok := wireTypes[typ]; ok {
			typ = wire
		} else if reflect.PointerTo(typ).Implements(jsonUnmarshaler) {
			if typ.PkgPath() == pkg {
				t.Errorf("rule.%s decodes itself but is not in wireTypes", typ.Name())
			}
			return
		}
		switch typ.Kind() {
		case reflect.Struct:
			for _, f := range jsonFields(typ) {
				walk(f.typ)
			}
		case reflect.Slice, reflect.Array:
			walk(typ.Elem())
		}
	}
	walk(reflect.TypeFor[Campaign]())
	for _, typ := range []reflect.Type{reflect.TypeFor[Delay](), reflect.TypeFor[Conversion]()} {
		if !seen[typ] {
			t.Errorf("the walk missed %s", typ)
		}
	}
}
