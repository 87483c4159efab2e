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

// Reasons lists every Reason constant of the package once, and nothing
// else: a constant added without its entry fails here.
func TestReasonsListsEveryConstant(t *testing.T) {
	consts := sourceConstants(t, "Reason")
	if len(consts) < 30 {
		t.Fatalf("found %d Reason constants in the source: the parse misses some", len(consts))
	}
	got := rule.Reasons()
	for name, r := range consts {
		if !slices.Contains(got, rule.Reason(r)) {
			t.Errorf("rule.%s (%q) is missing from Reasons", name, r)
		}
	}
	seen := map[rule.Reason]bool{}
	for _, r := range got {
		if seen[r] {
			t.Errorf("Reasons lists %q twice", r)
		}
		seen[r] = true
	}
	if len(got) != len(consts) {
		t.Errorf("Reasons lists %d reasons, the source declares %d", len(got), len(consts))
	}
	got[0] = "changed"
	if rule.Reasons()[0] == "changed" {
		t.Error("Reasons returns the package's own slice: a caller can change it")
	}
}

// DecisionKinds lists every DecisionKind constant of the package once,
// and nothing else.
func TestDecisionKindsListsEveryConstant(t *testing.T) {
	consts := sourceConstants(t, "DecisionKind")
	if len(consts) < 10 {
		t.Fatalf("found %d DecisionKind constants in the source: the parse misses some", len(consts))
	}
	got := rule.DecisionKinds()
	for name, k := range consts {
		if !slices.Contains(got, rule.DecisionKind(k)) {
			t.Errorf("rule.%s (%q) is missing from DecisionKinds", name, k)
		}
	}
	seen := map[rule.DecisionKind]bool{}
	for _, k := range got {
		if seen[k] {
			t.Errorf("DecisionKinds lists %q twice", k)
		}
		seen[k] = true
	}
	if len(got) != len(consts) {
		t.Errorf("DecisionKinds lists %d kinds, the source declares %d", len(got), len(consts))
	}
	got[0] = "changed"
	if rule.DecisionKinds()[0] == "changed" {
		t.Error("DecisionKinds returns the package's own slice: a caller can change it")
	}
}
