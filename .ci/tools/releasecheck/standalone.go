package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"

	"campaignconnector/ci/tools/internal/repo"
)

// standalone checks module m as the proxy serves it, outside any workspace:
// go.mod and go.sum are tidy (or, with tidy, made so in the repository), and
// every package and test compiles from them. It returns the module's library
// packages: those a consumer can import.
func standalone(tmp, proxy string, env []string, root string, m repo.Module, mods []repo.Module, version string, tidy bool) ([]string, error) {
	escaped, err := module.EscapePath(m.Path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(tmp, "src", filepath.FromSlash(escaped))
	zipFile := filepath.Join(proxy, filepath.FromSlash(escaped), "@v", version+".zip")
	if err := zip.Unzip(dir, module.Version{Path: m.Path, Version: version}, zipFile); err != nil {
		return nil, err
	}
	rootPath := mods[0].Path
	sumFile := filepath.Join(root, filepath.FromSlash(m.Dir), "go.sum")
	committedSum, err := os.ReadFile(sumFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// A go.sum line for one of the repository's own modules holds the hash of
	// a tagged version; the proxy here serves the work tree under that
	// version, whose hash differs. Leave them out of the copy.
	theirs, own := splitSum(rootPath, committedSum)
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), joinSum(theirs), 0o666); err != nil {
		return nil, err
	}
	if _, err := repo.Command(dir, env, "go", "mod", "tidy"); err != nil {
		return nil, err
	}
	tidyMod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return nil, err
	}
	tidySum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	tidyTheirs, _ := splitSum(rootPath, tidySum)
	modFile := path.Join(m.Dir, "go.mod")
	if tidy {
		if !bytes.Equal(tidyMod, m.GoMod) {
			if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(modFile)), tidyMod, 0o666); err != nil {
				return nil, err
			}
			fmt.Println("tidied", modFile)
		}
		newSum := joinSum(append(tidyTheirs, own...))
		if !bytes.Equal(newSum, committedSum) {
			if err := os.WriteFile(sumFile, newSum, 0o666); err != nil {
				return nil, err
			}
			fmt.Println("tidied", path.Join(m.Dir, "go.sum"))
		}
	} else {
		modDiff, err := lineDiff(tmp, modFile, m.GoMod, tidyMod)
		if err != nil {
			return nil, err
		}
		sumDiff, err := lineDiff(tmp, path.Join(m.Dir, "go.sum"), joinSum(theirs), joinSum(tidyTheirs))
		if err != nil {
			return nil, err
		}
		if modDiff != "" || sumDiff != "" {
			return nil, fmt.Errorf("go mod tidy outside the workspace changes it (.ci/releasecheck -tidy writes the changes):\n\t%s%s", modDiff, sumDiff)
		}
	}
	if _, err := repo.Command(dir, env, "go", "vet", "./..."); err != nil {
		return nil, err
	}
	out, err := repo.Command(dir, env, "go", "list", "-f", "{{.Name}} {{.ImportPath}}", "./...")
	if err != nil {
		return nil, err
	}
	var pkgs []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, importPath, _ := strings.Cut(line, " ")
		if name == "main" || isInternal(importPath) {
			continue
		}
		pkgs = append(pkgs, importPath)
	}
	return pkgs, nil
}

func isInternal(importPath string) bool {
	return strings.HasSuffix(importPath, "/internal") || strings.Contains(importPath, "/internal/")
}

// sumLine is one line of a go.sum file.
type sumLine struct {
	mod  module.Version // Version may end in "/go.mod"
	hash string
}

// splitSum parses a go.sum file into the lines of other modules and the
// lines of the repository's own modules.
func splitSum(rootPath string, data []byte) (theirs, own []sumLine) {
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		l := sumLine{mod: module.Version{Path: f[0], Version: f[1]}, hash: f[2]}
		if ours(rootPath, l.mod.Path) {
			own = append(own, l)
		} else {
			theirs = append(theirs, l)
		}
	}
	return theirs, own
}

// joinSum writes lines in the go command's order.
func joinSum(lines []sumLine) []byte {
	byMod := map[module.Version][]string{}
	var mods []module.Version
	for _, l := range lines {
		if _, ok := byMod[l.mod]; !ok {
			mods = append(mods, l.mod)
		}
		byMod[l.mod] = append(byMod[l.mod], l.hash)
	}
	module.Sort(mods)
	var b bytes.Buffer
	for _, m := range mods {
		for _, h := range byMod[m] {
			fmt.Fprintf(&b, "%s %s %s\n", m.Path, m.Version, h)
		}
	}
	return b.Bytes()
}

// lineDiff returns a unified diff from old to new, or "" when they are equal.
func lineDiff(tmp, name string, old, new []byte) (string, error) {
	if bytes.Equal(old, new) {
		return "", nil
	}
	dir, err := os.MkdirTemp(tmp, "diff-")
	if err != nil {
		return "", err
	}
	a, b := filepath.Join(dir, "committed"), filepath.Join(dir, "tidy")
	if err := os.WriteFile(a, old, 0o666); err != nil {
		return "", err
	}
	if err := os.WriteFile(b, new, 0o666); err != nil {
		return "", err
	}
	// git diff exits with 1 when the files differ.
	out, _ := repo.Command(dir, nil, "git", "diff", "--no-index", "--no-color", "--src-prefix=committed/", "--dst-prefix=tidy/", "committed", "tidy")
	if i := strings.Index(out, "@@"); i >= 0 {
		out = out[i:] // the hunks, without git's header
	}
	return strings.ReplaceAll(name+"\n"+out, "\n", "\n\t"), nil
}
