package doclinks

import (
	"go/ast"
	"go/doc"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// linkLike is text that reads as a doc link but is not one: brackets
// around a Go name, such as [Name], [*Name] or [pkg.Name.Method], not
// glued to a word before them (map[string]any, items[i]).
var linkLike = regexp.MustCompile(`(^|[^A-Za-z0-9_\]])(\[\*?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\])`)

// linksIn returns the link-like text of s.
func linksIn(s string) []string {
	var out []string
	for _, m := range linkLike.FindAllStringSubmatch(s, -1) {
		out = append(out, m[2])
	}
	return out
}

// TestDocLinksResolve parses the doc comments of every published package
// (the nested modules' too) as go doc does and fails on a bracketed name
// left as text: a name that is not declared or imported, or a link
// glued to the next word, as in "[*ItemError]s".
func TestDocLinksResolve(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		switch name := d.Name(); {
		case path == root:
		case strings.HasPrefix(name, ".") || name == "internal" || name == "testdata" ||
			name == "examples" || name == "bench" || name == "browsertest":
			return filepath.SkipDir
		}
		checkDir(t, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkDir(t *testing.T, dir string) {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return
	}
	p, err := doc.NewFromFiles(fset, files, "example.com/"+filepath.ToSlash(dir))
	if err != nil {
		t.Fatal(err)
	}
	check := func(where, text string) {
		for _, bad := range unresolved(p.Parser().Parse(text)) {
			t.Errorf("%s: %s: %s is not a doc link", dir, where, bad)
		}
	}
	check("package doc", p.Doc)
	for _, f := range p.Funcs {
		check(f.Name, f.Doc)
	}
	values := append(p.Consts, p.Vars...)
	for _, typ := range p.Types {
		check(typ.Name, typ.Doc)
		for _, f := range append(typ.Funcs, typ.Methods...) {
			check(typ.Name+"."+f.Name, f.Doc)
		}
		values = append(values, append(typ.Consts, typ.Vars...)...)
		ast.Inspect(typ.Decl, func(n ast.Node) bool {
			if field, ok := n.(*ast.Field); ok && field.Doc != nil && len(field.Names) > 0 {
				check(typ.Name+"."+field.Names[0].Name, field.Doc.Text())
			}
			return true
		})
	}
	for _, v := range values {
		check(strings.Join(v.Names, ", "), v.Doc)
		for _, spec := range v.Decl.Specs {
			if vs, ok := spec.(*ast.ValueSpec); ok && vs.Doc != nil {
				check(vs.Names[0].Name, vs.Doc.Text())
			}
		}
	}
}

// unresolved returns the link-like text of d's paragraphs and lists.
func unresolved(d *comment.Doc) []string {
	var out []string
	var text func([]comment.Text)
	text = func(ts []comment.Text) {
		for _, t := range ts {
			switch t := t.(type) {
			case comment.Plain:
				out = append(out, linksIn(string(t))...)
			case comment.Italic:
				out = append(out, linksIn(string(t))...)
			case *comment.Link:
				text(t.Text)
			}
		}
	}
	var blocks func([]comment.Block)
	blocks = func(bs []comment.Block) {
		for _, b := range bs {
			switch b := b.(type) {
			case *comment.Paragraph:
				text(b.Text)
			case *comment.Heading:
				text(b.Text)
			case *comment.List:
				for _, item := range b.Items {
					blocks(item.Content)
				}
			}
		}
	}
	blocks(d.Content)
	return out
}
