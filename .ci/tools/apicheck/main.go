// Command apicheck compares the exported API of each published module with
// its committed baseline in api/, and fails on an incompatible change.
//
//	apicheck        # compare; fail on an incompatible change
//	apicheck -w     # write the baselines from the work tree
//
// The comparison is golang.org/x/exp/apidiff's, module by module: a removed
// package, name, field or method, a changed signature or type, a method
// added to an interface a host may implement, a changed constant — each is
// incompatible. A change that only adds is compatible: apicheck lists it and
// passes, and the baseline records it when it is next written (at each
// release; see RELEASING.md).
//
// Each module has two files in api/, named after its directory ("root" for
// the root module, "store-postgres" for store/postgres):
//
//   - NAME.zip, the baseline apicheck compares with: the export data of the
//     module's library packages, in the format of `apidiff -m -w` (so
//     `apidiff -m api/NAME.zip MODULE_PATH` reads it too);
//   - NAME.txt, the same API as text, one line per exported name, field and
//     method, for review: a commit that changes the API shows what changed
//     there. apicheck fails when it does not match NAME.zip.
//
// Internal packages and commands are not API. A module with no baseline is
// listed and passes: it is guarded from the first baseline written for it.
package main

import (
	"archive/zip"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/token"
	"go/types"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/exp/apidiff"
	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"

	"campaignconnector/ci/tools/internal/repo"
)

func main() {
	write := flag.Bool("w", false, "write the baselines in api/ from the work tree")
	flag.Parse()
	if err := run(*write); err != nil {
		fmt.Fprintln(os.Stderr, "apicheck:", err)
		os.Exit(1)
	}
}

func run(write bool) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := repo.Root(wd)
	if err != nil {
		return err
	}
	mods, err := repo.Published(root)
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	current, err := load(fset, root, mods)
	if err != nil {
		return err
	}
	apiDir := filepath.Join(root, "api")
	if write {
		return writeAll(apiDir, fset, current)
	}
	return checkAll(apiDir, current)
}

// baselineName names the baseline files of the module in dir.
func baselineName(dir string) string {
	if dir == "." {
		return "root"
	}
	return strings.ReplaceAll(dir, "/", "-")
}

// api is the exported API of one module: its library packages.
type api struct {
	name   string // baselineName
	module *apidiff.Module
}

// load type-checks the library packages of every published module in the
// workspace. -trimpath keeps the machine's directories out of the
// positions that export data records.
func load(fset *token.FileSet, root string, mods []repo.Module) ([]api, error) {
	byPath := map[string]*api{}
	var apis []api
	var patterns []string
	for _, m := range mods {
		apis = append(apis, api{name: baselineName(m.Dir), module: &apidiff.Module{Path: m.Path}})
		patterns = append(patterns, "./"+m.Dir+"/...")
	}
	for i := range apis {
		byPath[apis[i].module.Path] = &apis[i]
	}
	goflags, err := repo.Command(root, nil, "go", "env", "GOFLAGS")
	if err != nil {
		return nil, err
	}
	cfg := &packages.Config{
		Fset: fset,
		Dir:  root,
		Mode: packages.NeedName | packages.NeedTypes | packages.NeedModule,
		Env: append(os.Environ(),
			"GOWORK="+filepath.Join(root, "go.work"),
			"GOFLAGS="+strings.TrimSpace(strings.TrimSpace(goflags)+" -trimpath")),
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, p := range pkgs {
		for _, e := range p.Errors {
			errs = append(errs, e)
		}
		if p.Name == "main" || p.Module == nil || isInternal(p.PkgPath) {
			continue
		}
		a, ok := byPath[p.Module.Path]
		if !ok {
			continue // a module go.work uses that is not published
		}
		a.module.Packages = append(a.module.Packages, p.Types)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, a := range apis {
		sort.Slice(a.module.Packages, func(i, j int) bool { return a.module.Packages[i].Path() < a.module.Packages[j].Path() })
	}
	return apis, nil
}

func isInternal(importPath string) bool {
	return strings.HasSuffix(importPath, "/internal") || strings.Contains(importPath, "/internal/")
}

// writeAll writes the baselines of every module and removes those of
// modules that are no longer published.
func writeAll(apiDir string, fset *token.FileSet, apis []api) error {
	if err := os.MkdirAll(apiDir, 0o777); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, a := range apis {
		zipName, txtName := a.name+".zip", a.name+".txt"
		keep[zipName], keep[txtName] = true, true
		data, err := encode(fset, a.module)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(apiDir, zipName), data, 0o666); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(apiDir, txtName), listing(a.module), 0o666); err != nil {
			return err
		}
		fmt.Printf("wrote api/%s and api/%s (%s)\n", zipName, txtName, a.module.Path)
	}
	entries, err := os.ReadDir(apiDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !keep[e.Name()] && (strings.HasSuffix(e.Name(), ".zip") || strings.HasSuffix(e.Name(), ".txt")) {
			if err := os.Remove(filepath.Join(apiDir, e.Name())); err != nil {
				return err
			}
			fmt.Printf("removed api/%s\n", e.Name())
		}
	}
	return nil
}

// checkAll compares each module with its baseline.
func checkAll(apiDir string, apis []api) error {
	var problems []error
	have := map[string]bool{}
	for _, a := range apis {
		have[a.name+".zip"] = true
		zipFile := filepath.Join(apiDir, a.name+".zip")
		data, err := os.ReadFile(zipFile)
		if errors.Is(err, os.ErrNotExist) {
			fmt.Printf("%s: no baseline in api/; its API is not guarded until .ci/apicheck -w writes one\n", a.module.Path)
			continue
		}
		if err != nil {
			return err
		}
		old, err := decode(token.NewFileSet(), data)
		if err != nil {
			return fmt.Errorf("api/%s.zip: %w", a.name, err)
		}
		if old.Path != a.module.Path {
			problems = append(problems, fmt.Errorf("api/%s.zip is the baseline of %s, not of %s", a.name, old.Path, a.module.Path))
			continue
		}
		txt, err := os.ReadFile(filepath.Join(apiDir, a.name+".txt"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if !bytes.Equal(txt, listing(old)) {
			problems = append(problems, fmt.Errorf("api/%s.txt does not list the API in api/%s.zip: write both with .ci/apicheck -w", a.name, a.name))
		}
		report := apidiff.ModuleChanges(old, a.module)
		var incompatible, compatible []string
		for _, c := range report.Changes {
			if c.Compatible {
				compatible = append(compatible, c.Message)
			} else {
				incompatible = append(incompatible, c.Message)
			}
		}
		if len(compatible) > 0 {
			fmt.Printf("%s: compatible changes since api/%s.zip:\n\t%s\n", a.module.Path, a.name, strings.Join(compatible, "\n\t"))
		}
		if len(incompatible) > 0 {
			problems = append(problems, fmt.Errorf("%s: incompatible changes since api/%s.zip:\n\t%s\nKeep the old API working (a deprecated alias or wrapper), or, when the break is deliberate, record it in the same commit with .ci/apicheck -w", a.module.Path, a.name, strings.Join(incompatible, "\n\t")))
		}
		if len(compatible) == 0 && len(incompatible) == 0 {
			fmt.Printf("%s: the API of api/%s.zip\n", a.module.Path, a.name)
		}
	}
	entries, err := os.ReadDir(apiDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".zip") && !have[e.Name()] {
			problems = append(problems, fmt.Errorf("api/%s: a baseline of a module that is no longer published; removing a module breaks its users (.ci/apicheck -w removes the baseline)", e.Name()))
		}
	}
	return errors.Join(problems...)
}

// encode writes a module's export data in the format of `apidiff -m -w`: a
// zip archive whose entry "module" holds the module path and whose entry
// PKGPATH.x holds the export data of that package.
func encode(fset *token.FileSet, m *apidiff.Module) ([]byte, error) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	entry, err := w.Create("module")
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(entry, m.Path); err != nil {
		return nil, err
	}
	for _, p := range m.Packages {
		entry, err := w.Create(p.Path() + ".x")
		if err != nil {
			return nil, err
		}
		if err := gcexportdata.Write(entry, fset, p); err != nil {
			return nil, fmt.Errorf("export data of %s: %w", p.Path(), err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decode reads what encode writes. Each package is read with its own map of
// imports, as export data holds what it needs of its dependencies.
func decode(fset *token.FileSet, data []byte) (*apidiff.Module, error) {
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	m := &apidiff.Module{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			return nil, err
		}
		content, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, err
		}
		if f.Name == "module" {
			m.Path = string(content)
			continue
		}
		pkgPath, ok := strings.CutSuffix(f.Name, ".x")
		if !ok {
			return nil, fmt.Errorf("unexpected entry %q", f.Name)
		}
		p, err := gcexportdata.Read(bytes.NewReader(content), fset, map[string]*types.Package{}, pkgPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pkgPath, err)
		}
		m.Packages = append(m.Packages, p)
	}
	if m.Path == "" {
		return nil, errors.New("no module entry")
	}
	sort.Slice(m.Packages, func(i, j int) bool { return m.Packages[i].Path() < m.Packages[j].Path() })
	return m, nil
}
