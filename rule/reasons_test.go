package rule_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
)

// sourceConstants reads this package's source for its constants of type
// typ (declared with it: Warning = Warned, an alias, has no type of its
// own), by name, so that a constant added is seen without a list to keep
// up to date.
func sourceConstants(t *testing.T, typ string) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no source of package rule: %v", err)
	}
	fset := token.NewFileSet()
	out := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typ {
					continue
				}
				for i, id := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: the value of %s is not a string literal", fset.Position(id.Pos()), id.Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out[id.Name] = v
				}
			}
		}
	}
	return out
}

// checkListed checks that list, the result of the function fn names,
// holds every constant of type typ the package declares, once, and
// nothing else (at least `least` of them, or the parse misses some), and
// that fn returns a copy of its slice.
func checkListed[T ~string](t *testing.T, typ, fn string, least int, list func() []T) {
	t.Helper()
	consts := sourceConstants(t, typ)
	if len(consts) < least {
		t.Fatalf("found %d %s constants in the source: the parse misses some", len(consts), typ)
	}
	got := list()
	for name, v := range consts {
		if !slices.Contains(got, T(v)) {
			t.Errorf("rule.%s (%q) is missing from %s", name, v, fn)
		}
	}
	seen := map[T]bool{}
	for _, v := range got {
		if seen[v] {
			t.Errorf("%s lists %q twice", fn, v)
		}
		seen[v] = true
	}
	if len(got) != len(consts) {
		t.Errorf("%s lists %d, the source declares %d", fn, len(got), len(consts))
	}
	got[0] = "changed"
	if list()[0] == "changed" {
		t.Errorf("%s returns the package's own slice: a caller can change it", fn)
	}
}

// Reasons lists every Reason constant of the package once, and nothing
// else: a constant added without its entry fails here.
func TestReasonsListsEveryConstant(t *testing.T) {
	checkListed(t, "Reason", "Reasons", 30, rule.Reasons)
}

// DecisionKinds lists every DecisionKind constant of the package once,
// and nothing else.
func TestDecisionKindsListsEveryConstant(t *testing.T) {
	checkListed(t, "DecisionKind", "DecisionKinds", 10, rule.DecisionKinds)
}
