// Package doccheck type-checks the Go snippets of markdown files against
// the packages of a Go workspace, so that a renamed function or field
// cannot leave a snippet in the docs that no longer builds. Its test
// checks every ```go block of the repository's README.md and docs/*.md.
//
// A snippet may be a fragment: statements that use a few conventional
// names (ctx, engine, s, err…, listed in the prelude) without declaring
// them, and packages such as connector or rule without importing them
// (knownPackages). The checker gives those names the prelude's types and
// adds the imports, so that the methods and fields used on them are
// checked too; assemble lists the kinds of snippet. A line of only "…"
// stands for code left out. A block that is deliberately not Go a compiler
// accepts (pseudo-code, or code that needs a package no module of the
// workspace requires) is preceded by a comment that says why:
//
//	<!-- not compiled: the reason -->
//
// The checker reads the packages' export data, which the go command writes
// (go list -export), so that a snippet may import the packages of every
// module of the workspace.
package doccheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// Result is what Check found.
type Result struct {
	// Problems are the snippets' errors, each starting with the markdown
	// file and line.
	Problems []error
	// Checked counts the snippets type-checked; NotCompiled lists those
	// that opted out.
	Checked     int
	NotCompiled []Snippet
	// Files are the Go files of the non-standard packages the snippets
	// were checked against: a result stays true while none changes.
	Files []string
}

// Check type-checks snippets against the packages that the go command
// goCmd, run in dir, sees (in workspace mode when dir is in a workspace).
// Of the errors a fragment cannot avoid, it ignores "declared and not
// used" and "imported and not used". It fails when the go command does.
func Check(goCmd, dir string, snippets []Snippet) (Result, error) {
	var res Result
	type assembled struct {
		files []source
		err   error // the snippet's syntax error
	}
	var todo []assembled
	var paths []string
	for _, sn := range snippets {
		if sn.NotCompiled != "" {
			res.NotCompiled = append(res.NotCompiled, sn)
			continue
		}
		files, err := assemble(sn)
		todo = append(todo, assembled{files, err})
		for _, f := range files {
			paths = append(paths, importsOf(f)...)
		}
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	exports, err := listExports(goCmd, dir, paths, &res.Files)
	if err != nil {
		return res, err
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %q (not a package the go command lists)", path)
		}
		return os.Open(file)
	})
	for _, a := range todo {
		res.Checked++
		if a.err != nil {
			res.Problems = append(res.Problems, a.err)
			continue
		}
		res.Problems = append(res.Problems, typeCheck(fset, imp, a.files)...)
	}
	return res, nil
}

// typeCheck returns the errors of the package of files.
func typeCheck(fset *token.FileSet, imp types.Importer, files []source) []error {
	var parsed []*ast.File
	for _, f := range files {
		p, err := parser.ParseFile(fset, f.name, f.text, parser.SkipObjectResolution)
		if err != nil {
			return []error{err} // not for a snippet that assemble accepted
		}
		parsed = append(parsed, p)
	}
	var errs []error
	conf := types.Config{Importer: imp, Error: func(err error) {
		if te, ok := err.(types.Error); ok &&
			(strings.Contains(te.Msg, "declared and not used") || strings.Contains(te.Msg, "imported and not used")) {
			return
		}
		errs = append(errs, err)
	}}
	conf.Check("snippet", fset, parsed, nil) // the errors went to conf.Error
	return errs
}

// importsOf returns the import paths of f.
func importsOf(f source) []string {
	p, err := parser.ParseFile(token.NewFileSet(), f.name, f.text, parser.ImportsOnly)
	if err != nil {
		return nil
	}
	var paths []string
	for _, spec := range p.Imports {
		path, _ := strconv.Unquote(spec.Path.Value)
		paths = append(paths, path)
	}
	return paths
}

// listExports runs go list -export on paths and returns the export data
// file of each package they need, by import path. It appends the Go files
// of the non-standard ones to files. A package the go command cannot load
// has no export data: the snippet that imports it fails to.
func listExports(goCmd, dir string, paths []string, files *[]string) (map[string]string, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	args := append([]string{"list", "-e", "-export", "-deps", "-json=ImportPath,Export,Standard,Dir,GoFiles"}, paths...)
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -export: %v\n%s", err, stderr.Bytes())
	}
	exports := map[string]string{}
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p struct {
			ImportPath, Export, Dir string
			Standard                bool
			GoFiles                 []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return exports, nil
		} else if err != nil {
			return nil, fmt.Errorf("go list -export: %v", err)
		}
		if p.Export != "" {
			exports[p.ImportPath] = p.Export
		}
		if !p.Standard {
			for _, f := range p.GoFiles {
				*files = append(*files, p.Dir+string(os.PathSeparator)+f)
			}
		}
	}
}
