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

// sourceReasons reads this package's source for its constants of type
// Reason, by name, so that a constant added is seen without a list to
// keep up to date.
func sourceReasons(t *testing.T) map[string]rule.Reason {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no source of package rule: %v", err)
	}
	fset := token.NewFileSet()
	out := map[string]rule.Reason{}
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
				if typ, ok := vs.Type.(*ast.Ident); !ok || typ.Name != "Reason" {
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
					out[id.Name] = rule.Reason(v)
				}
			}
		}
	}
	return out
}

// Reasons lists every Reason constant of the package once, and nothing
// else: a constant added without its entry fails here.
func TestReasonsListsEveryConstant(t *testing.T) {
	consts := sourceReasons(t)
	if len(consts) < 30 {
		t.Fatalf("found %d Reason constants in the source: the parse misses some", len(consts))
	}
	got := rule.Reasons()
	for name, r := range consts {
		if !slices.Contains(got, r) {
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
