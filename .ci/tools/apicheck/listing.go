package main

import (
	"fmt"
	"go/types"
	"sort"
	"strings"

	"golang.org/x/exp/apidiff"
)

// listing writes a module's API as sorted lines in the manner of Go's own
// api/*.txt files: "pkg PATH, KIND DECLARATION". Parameter names are left
// out (they are not API); other packages are named by their package name.
func listing(m *apidiff.Module) []byte {
	var lines []string
	for _, p := range m.Packages {
		for _, l := range packageLines(p) {
			lines = append(lines, "pkg "+p.Path()+", "+l)
		}
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

func packageLines(p *types.Package) []string {
	q := func(other *types.Package) string {
		if other.Path() == p.Path() {
			return ""
		}
		return other.Name()
	}
	typ := func(t types.Type) string { return types.TypeString(t, q) }
	var lines []string
	scope := p.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch obj := obj.(type) {
		case *types.Const:
			lines = append(lines, fmt.Sprintf("const %s %s", name, typ(obj.Type())))
			lines = append(lines, fmt.Sprintf("const %s = %s", name, obj.Val().ExactString()))
		case *types.Var:
			lines = append(lines, fmt.Sprintf("var %s %s", name, typ(obj.Type())))
		case *types.Func:
			sig := obj.Type().(*types.Signature)
			lines = append(lines, fmt.Sprintf("func %s%s%s", name, typeParams(sig.TypeParams(), typ), signature(sig, typ)))
		case *types.TypeName:
			lines = append(lines, typeLines(obj, typ)...)
		}
	}
	return lines
}

func typeLines(obj *types.TypeName, typ func(types.Type) string) []string {
	name := obj.Name()
	if obj.IsAlias() {
		return []string{fmt.Sprintf("type %s = %s", name, typ(types.Unalias(obj.Type())))}
	}
	named, ok := obj.Type().(*types.Named)
	if !ok {
		return []string{fmt.Sprintf("type %s %s", name, typ(obj.Type()))}
	}
	decl := "type " + name + typeParams(named.TypeParams(), typ)
	var lines []string
	switch u := named.Underlying().(type) {
	case *types.Struct:
		lines = append(lines, decl+" struct")
		for i := 0; i < u.NumFields(); i++ {
			f := u.Field(i)
			switch {
			case !f.Exported():
			case f.Embedded():
				lines = append(lines, fmt.Sprintf("%s struct, embedded %s", decl, typ(f.Type())))
			default:
				lines = append(lines, fmt.Sprintf("%s struct, %s %s", decl, f.Name(), typ(f.Type())))
			}
		}
	case *types.Interface:
		if !u.IsMethodSet() {
			// A constraint with a type set: its terms are its API.
			return []string{fmt.Sprintf("%s %s", decl, typ(u))}
		}
		lines = append(lines, decl+" interface")
		unexported := false
		for i := 0; i < u.NumMethods(); i++ {
			m := u.Method(i)
			if !m.Exported() {
				unexported = true
				continue
			}
			lines = append(lines, fmt.Sprintf("%s interface, %s%s", decl, m.Name(), signature(m.Type().(*types.Signature), typ)))
		}
		if unexported {
			lines = append(lines, decl+" interface, unexported methods")
		}
		return lines
	default:
		lines = append(lines, fmt.Sprintf("%s %s", decl, typ(u)))
	}
	// The methods callable on a T or a *T, promoted ones included.
	value := types.NewMethodSet(named)
	pointer := types.NewMethodSet(types.NewPointer(named))
	for i := 0; i < pointer.Len(); i++ {
		m := pointer.At(i).Obj().(*types.Func)
		if !m.Exported() {
			continue
		}
		recv := "*" + name
		if value.Lookup(m.Pkg(), m.Name()) != nil {
			recv = name
		}
		lines = append(lines, fmt.Sprintf("method (%s) %s%s", recv, m.Name(), signature(m.Type().(*types.Signature), typ)))
	}
	return lines
}

// signature writes (PARAMS) RESULTS without parameter names.
func signature(sig *types.Signature, typ func(types.Type) string) string {
	tuple := func(t *types.Tuple, variadic bool) []string {
		var s []string
		for i := 0; i < t.Len(); i++ {
			pt := t.At(i).Type()
			if variadic && i == t.Len()-1 {
				s = append(s, "..."+typ(pt.(*types.Slice).Elem()))
				continue
			}
			s = append(s, typ(pt))
		}
		return s
	}
	out := "(" + strings.Join(tuple(sig.Params(), sig.Variadic()), ", ") + ")"
	switch results := tuple(sig.Results(), false); len(results) {
	case 0:
	case 1:
		out += " " + results[0]
	default:
		out += " (" + strings.Join(results, ", ") + ")"
	}
	return out
}

func typeParams(tps *types.TypeParamList, typ func(types.Type) string) string {
	if tps.Len() == 0 {
		return ""
	}
	s := make([]string, tps.Len())
	for i := 0; i < tps.Len(); i++ {
		tp := tps.At(i)
		s[i] = tp.Obj().Name() + " " + typ(tp.Constraint())
	}
	return "[" + strings.Join(s, ", ") + "]"
}
