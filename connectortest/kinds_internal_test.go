package connectortest

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

// decisionKinds holds every DecisionKind constant of package rule, read
// from its source: a kind added there and missing here would be refused
// by RequireNoReason and reported as misspelt.
func TestDecisionKindsListsEveryConstant(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "rule", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no source of package rule: %v", err)
	}
	fset := token.NewFileSet()
	found := 0
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
				if typ, ok := vs.Type.(*ast.Ident); !ok || typ.Name != "DecisionKind" {
					continue // Warning = Warned, an alias, has no type of its own
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
					found++
					if !slices.Contains(decisionKinds, rule.DecisionKind(v)) {
						t.Errorf("rule.%s (%q) is missing from decisionKinds", id.Name, v)
					}
				}
			}
		}
	}
	if found < 10 || found != len(decisionKinds) {
		t.Errorf("found %d DecisionKind constants in package rule, decisionKinds lists %d", found, len(decisionKinds))
	}
}

// nearest suggests a name one or two edits away, scaled to the word's
// length, or one in another case, and nothing when two are as near.
func TestNearest(t *testing.T) {
	names := []string{"scheduled", "cancelled", "held_out", "late", "created", "creates"}
	for _, tc := range []struct{ s, want string }{
		{"canceled", "cancelled"},
		{"CANCELLED", "cancelled"},
		{"CANCELED", "cancelled"}, // a misspelling in capitals
		{"HELD-OUT", "held_out"},
		{"Shceduled", "scheduled"},
		{"held-out", "held_out"},
		{"shceduled", "scheduled"}, // a swap is one edit
		{"lat", "late"},            // one edit for a word of three letters
		{"lt", ""},                 // none for one of two
		{"", ""},
		{"sent", ""},
		{"cretaed", "created"}, // one swap; "creates" is two edits away
		{"createz", ""},        // one edit from both
	} {
		if got := nearest(tc.s, names); got != tc.want {
			t.Errorf("nearest(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
