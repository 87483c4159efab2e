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

// module is the import path of the root module; a nested module's is it
// followed by the module's directory.
const module = "github.com/campaignconnector/campaignconnector"

// TestDocLinksResolve parses the doc comments of every published package
// (the nested modules' too) as go doc does and fails on a bracketed name
// left as text: a name that is not declared or imported, or a link
// glued to the next word, as in "[*ItemError]s"; and on a link to a name
// that another published package (or the package itself, named by its
// package name) does not declare, as in "[webhook.ErrNope]".
func TestDocLinksResolve(t *testing.T) {
	root := filepath.Join("..", "..")
	var pkgs []*docPackage
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
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if p := parseDir(t, path, rel); p != nil {
			pkgs = append(pkgs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	byPath := make(map[string]*docPackage, len(pkgs))
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	for _, p := range pkgs {
		checkPackage(t, p, byPath)
	}
}

// docPackage is a package's documentation and the names of what it
// declares that a doc link may name: "Name", "Type.Method", "Type.Field".
type docPackage struct {
	*doc.Package
	dir   string
	names map[string]bool
}

// parseDir reads the package in dir (rel, relative to the repository's
// root), or returns nil when dir holds none.
func parseDir(t *testing.T, dir, rel string) *docPackage {
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
		return nil
	}
	path := module
	if rel != "." {
		path += "/" + filepath.ToSlash(rel)
	}
	p, err := doc.NewFromFiles(fset, files, path)
	if err != nil {
		t.Fatal(err)
	}
	dp := &docPackage{Package: p, dir: dir, names: map[string]bool{}}
	add := func(names ...string) {
		for _, n := range names {
			dp.names[n] = true
		}
	}
	for _, f := range p.Funcs {
		add(f.Name)
	}
	for _, v := range append(p.Consts, p.Vars...) {
		add(v.Names...)
	}
	for _, typ := range p.Types {
		add(typ.Name)
		for _, f := range typ.Funcs {
			add(f.Name)
		}
		for _, m := range typ.Methods {
			add(typ.Name + "." + m.Name)
		}
		for _, v := range append(typ.Consts, typ.Vars...) {
			add(v.Names...)
		}
		ast.Inspect(typ.Decl, func(n ast.Node) bool {
			if field, ok := n.(*ast.Field); ok {
				for _, name := range field.Names {
					add(typ.Name + "." + name.Name)
				}
			}
			return true
		})
	}
	return dp
}

// checkPackage checks the doc comments of p; pkgs are the published
// packages by import path.
func checkPackage(t *testing.T, p *docPackage, pkgs map[string]*docPackage) {
	t.Helper()
	dir := p.dir
	check := func(where, text string) {
		for _, bad := range unresolved(p.Parser().Parse(text), p, pkgs) {
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

// unresolved returns the link-like text of d's paragraphs and lists, and
// its links to names that self (the package d documents) or one of pkgs
// does not declare.
func unresolved(d *comment.Doc, self *docPackage, pkgs map[string]*docPackage) []string {
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
			case *comment.DocLink:
				name := t.Name
				if t.Recv != "" {
					name = t.Recv + "." + name
				}
				p, ok := pkgs[t.ImportPath]
				if t.ImportPath == "" { // self, named by its package name
					p, ok = self, true
				}
				if ok && name != "" && !p.names[name] {
					out = append(out, "["+p.Name+"."+name+"]")
				}
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
