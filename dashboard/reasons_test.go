package dashboard

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
)

// reasonConstants reads package rule's source for its constants of type
// Reason, by name, so that a constant added there is seen here without a
// list to keep up to date.
func reasonConstants(t *testing.T) map[string]rule.Reason {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "rule", "*.go"))
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

// Every reason the engine can give reads as a phrase, not as its code:
// a Reason constant added to package rule without a phrase in
// reasonPhrases fails here.
func TestEveryReasonHasAPhrase(t *testing.T) {
	consts := reasonConstants(t)
	if len(consts) < 30 {
		t.Fatalf("found %d Reason constants in package rule: the parse misses some", len(consts))
	}
	seen := map[string]string{}
	for name, r := range consts {
		phrase, ok := reasonPhrases[r]
		switch {
		case !ok:
			t.Errorf("rule.%s (%q) has no phrase in reasonPhrases", name, r)
			continue
		case phrase == "" || strings.Contains(phrase, "_") || phrase == strings.ReplaceAll(string(r), "_", " "):
			t.Errorf("rule.%s reads %q: the code, not a phrase", name, phrase)
		case phrase != strings.ToLower(phrase[:1])+phrase[1:]:
			t.Errorf("rule.%s reads %q: a phrase follows a colon, in lower case", name, phrase)
		}
		if other, dup := seen[phrase]; dup {
			t.Errorf("rule.%s and rule.%s both read %q", name, other, phrase)
		}
		seen[phrase] = name
		if got := reasonWords(r); got != phrase {
			t.Errorf("reasonWords(%q) = %q, want %q", r, got, phrase)
		}
	}
	for r := range reasonPhrases {
		found := false
		for _, c := range consts {
			found = found || c == r
		}
		if !found {
			t.Errorf("reasonPhrases has %q, which no Reason constant holds", r)
		}
	}
	if got := reasonWords("some_new_reason"); got != "some new reason" {
		t.Errorf("a reason without a phrase reads %q, want its code in words", got)
	}
}
