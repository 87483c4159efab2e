// Package repo finds the Go modules of the repository and the files that
// each of them publishes.
//
// A module is published when its go.mod is in the repository outside the
// directories listed in [Unpublished] and outside the directories the go
// command itself ignores (testdata, and names starting with "." or "_").
// The root module comes first; the others follow in path order.
package repo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
)

// Unpublished lists the directories (relative to the repository root) whose
// modules are never tagged: benchmarks against other libraries, example
// programs that need a module of their own for their dependencies, and the
// dashboard's browser tests (a module only so that the browser driver stays
// out of the library's requirements).
var Unpublished = []string{"bench", "examples", "dashboard/browsertest"}

// Module is one published module of the repository.
type Module struct {
	// Path is the module path its go.mod declares.
	Path string
	// Dir is its directory relative to the repository root, "." for the root.
	Dir string
	// GoMod is the content of its go.mod file.
	GoMod []byte
	// File is its parsed go.mod.
	File *modfile.File
}

// TagPrefix is the prefix of the module's release tags: "" for the root,
// "store/postgres/" for the module in store/postgres.
func (m Module) TagPrefix() string {
	if m.Dir == "." {
		return ""
	}
	return m.Dir + "/"
}

// Root returns the repository root that holds dir.
func Root(dir string) (string, error) {
	out, err := Command(dir, nil, "git", "rev-parse", "--show-toplevel")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// Files lists the files under dir (relative to root, "." for all) that are in
// the repository or would be added to it: tracked files that still exist and
// untracked files that .gitignore does not exclude. Paths are slash-separated
// and relative to dir.
func Files(root, dir string) ([]string, error) {
	out, err := Command(root, nil, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", dir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var files []string
	for _, p := range strings.Split(out, "\x00") {
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		info, err := os.Lstat(filepath.Join(root, filepath.FromSlash(p)))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree, not yet in the index
		}
		if err != nil {
			return nil, err
		}
		if !info.Mode().IsRegular() {
			continue
		}
		rel := p
		if dir != "." {
			rel = strings.TrimPrefix(p, dir+"/")
		}
		files = append(files, rel)
	}
	sort.Strings(files)
	return files, nil
}

// Published returns the published modules of the repository at root, the
// root module first.
func Published(root string) ([]Module, error) {
	files, err := Files(root, ".")
	if err != nil {
		return nil, err
	}
	var mods []Module
	for _, f := range files {
		if path.Base(f) != "go.mod" {
			continue
		}
		dir := path.Dir(f)
		if !isPublishedDir(dir) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		mf, err := modfile.Parse(f, data, nil)
		if err != nil {
			return nil, err
		}
		if mf.Module == nil {
			return nil, fmt.Errorf("%s: no module line", f)
		}
		mods = append(mods, Module{Path: mf.Module.Mod.Path, Dir: dir, GoMod: data, File: mf})
	}
	// The root first ("dashboard/…/go.mod" sorts before "go.mod"), then by
	// directory.
	sort.SliceStable(mods, func(i, j int) bool {
		if (mods[i].Dir == ".") != (mods[j].Dir == ".") {
			return mods[i].Dir == "."
		}
		return mods[i].Dir < mods[j].Dir
	})
	if len(mods) == 0 || mods[0].Dir != "." {
		return nil, errors.New("no go.mod at the repository root")
	}
	return mods, nil
}

func isPublishedDir(dir string) bool {
	if dir == "." {
		return true
	}
	for _, u := range Unpublished {
		if dir == u || strings.HasPrefix(dir, u+"/") {
			return false
		}
	}
	for _, elem := range strings.Split(dir, "/") {
		if elem == "testdata" || strings.HasPrefix(elem, ".") || strings.HasPrefix(elem, "_") {
			return false
		}
	}
	return true
}

// Command runs name with args in dir and returns its standard output. env,
// when not nil, is added to the environment (later entries win). The error
// carries the command line and its standard error.
func Command(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s (in %s): %w\n%s", name, strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
