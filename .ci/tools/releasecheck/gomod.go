package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"campaignconnector/ci/tools/internal/repo"
)

// ours reports whether modPath is the root module's path or below it: a
// module of this repository, published or not.
func ours(rootPath, modPath string) bool {
	return modPath == rootPath || strings.HasPrefix(modPath, rootPath+"/")
}

// checkGoMods returns what in the published go.mod files stops a stranger's
// build: replace directives (a dependency's are ignored), requirements of
// the repository's modules at versions no tag produces, requirements of
// unpublished modules, and module paths that do not match their directory
// (a tag dir/vX.Y.Z serves only the module path root/dir).
func checkGoMods(mods []repo.Module) []error {
	rootPath := mods[0].Path
	published := map[string]bool{}
	for _, m := range mods {
		published[m.Path] = true
	}
	var problems []error
	for _, m := range mods {
		file := path.Join(m.Dir, "go.mod")
		if want := path.Join(rootPath, m.Dir); m.Dir != "." && m.Path != want {
			problems = append(problems, fmt.Errorf("%s: module path %s: the tag %sv… of this directory serves the module path %s", file, m.Path, m.TagPrefix(), want))
		}
		if m.File.Go == nil {
			problems = append(problems, fmt.Errorf("%s: no go directive", file))
		}
		for _, r := range m.File.Replace {
			problems = append(problems, fmt.Errorf("%s:%d: replace %s: a consumer's build ignores a dependency's replace directives; delete it (go.work serves the work tree to local builds)", file, r.Syntax.Start.Line, r.Old.Path))
		}
		for _, r := range m.File.Require {
			if !ours(rootPath, r.Mod.Path) {
				continue
			}
			line := r.Syntax.Start.Line
			switch {
			case !published[r.Mod.Path]:
				problems = append(problems, fmt.Errorf("%s:%d: requires %s, which is not published", file, line, r.Mod.Path))
			case !isRelease(r.Mod.Version):
				problems = append(problems, fmt.Errorf("%s:%d: requires %s %s: require a release version vX.Y.Z (the one tagged first), not a pseudo-version or pre-release", file, line, r.Mod.Path, r.Mod.Version))
			}
		}
	}
	return problems
}

func isRelease(v string) bool {
	return semver.IsValid(v) && semver.Canonical(v) == v && semver.Prerelease(v) == "" && !module.IsPseudoVersion(v)
}

// requiredRootVersion returns the highest version the other published
// modules require of the root module.
func requiredRootVersion(mods []repo.Module) (string, error) {
	v := ""
	for _, m := range mods[1:] {
		for _, r := range m.File.Require {
			if r.Mod.Path == mods[0].Path && semver.Compare(r.Mod.Version, v) > 0 {
				v = r.Mod.Version
			}
		}
	}
	if v == "" {
		return "", fmt.Errorf("no module requires %s: name the release version with -version", mods[0].Path)
	}
	return v, nil
}

// checkWorkspace returns what stops go.work from building the work tree:
// a published module it does not use, and a requirement between its modules
// at a version that go.work does not replace with the work tree (the go
// command reads the go.mod of every required version, even of a module the
// workspace uses, and an untagged one exists nowhere).
func checkWorkspace(root string, mods []repo.Module) []error {
	data, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return []error{err}
	}
	work, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		return []error{err}
	}
	used := map[string]string{} // module path → directory, for every module go.work uses
	var problems []error
	for _, u := range work.Use {
		dir := path.Clean(filepath.ToSlash(u.Path))
		gomod, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(dir), "go.mod"))
		if err != nil {
			problems = append(problems, fmt.Errorf("go.work: use %s: %w", u.Path, err))
			continue
		}
		used[modfile.ModulePath(gomod)] = dir
	}
	for _, m := range mods {
		if _, ok := used[m.Path]; !ok {
			problems = append(problems, fmt.Errorf("go.work does not use %s; add it with: go work use %s", dotSlash(m.Dir), dotSlash(m.Dir)))
		}
	}
	replaced := map[module.Version]string{}
	for _, r := range work.Replace {
		replaced[r.Old] = path.Clean(filepath.ToSlash(r.New.Path))
	}
	paths := make([]string, 0, len(used))
	for p := range used {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, modPath := range paths {
		dir := used[modPath]
		gomod, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(dir), "go.mod"))
		if err != nil {
			return append(problems, err)
		}
		mf, err := modfile.Parse(path.Join(dir, "go.mod"), gomod, nil)
		if err != nil {
			return append(problems, err)
		}
		for _, r := range mf.Require {
			target, isUsed := used[r.Mod.Path]
			if !isUsed {
				continue
			}
			if got, ok := replaced[r.Mod]; !ok || got != target {
				problems = append(problems, fmt.Errorf("%s requires %s %s: go.work must serve that version from the work tree: go work edit -replace %s@%s=%s", modPath, r.Mod.Path, r.Mod.Version, r.Mod.Path, r.Mod.Version, dotSlash(target)))
			}
		}
	}
	return problems
}

// dotSlash writes a directory relative to the repository root as go.work
// names it: "./" for the root, "./store/postgres" for store/postgres.
func dotSlash(dir string) string {
	if dir == "." {
		return "./"
	}
	return "./" + dir
}
