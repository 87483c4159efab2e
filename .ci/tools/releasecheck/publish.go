package main

import (
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"

	"campaignconnector/ci/tools/internal/repo"
)

// publish writes module m at version to the file proxy rooted at proxy:
// <escaped path>/@v/list, <version>.info, .mod and .zip, as a module proxy
// serves them. The zip holds the files git would archive at a tag (tracked
// files and untracked ones .gitignore keeps, as they are in the work tree),
// less those of nested modules, plus the repository's LICENSE when the
// module has none of its own, as the go command adds it to a module in a
// subdirectory.
func publish(proxy, root string, m repo.Module, version string) error {
	escaped, err := module.EscapePath(m.Path)
	if err != nil {
		return err
	}
	dir := filepath.Join(proxy, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	names, err := repo.Files(root, m.Dir)
	if err != nil {
		return err
	}
	moduleDir := filepath.Join(root, filepath.FromSlash(m.Dir))
	files := make([]zip.File, 0, len(names)+1)
	haveLicense := false
	for _, n := range names {
		files = append(files, diskFile{path: n, file: filepath.Join(moduleDir, filepath.FromSlash(n))})
		haveLicense = haveLicense || n == "LICENSE"
	}
	if !haveLicense && m.Dir != "." {
		if _, err := os.Stat(filepath.Join(root, "LICENSE")); err == nil {
			files = append(files, diskFile{path: "LICENSE", file: filepath.Join(root, "LICENSE")})
		}
	}

	zf, err := os.Create(filepath.Join(dir, version+".zip"))
	if err != nil {
		return err
	}
	if err := zip.Create(zf, module.Version{Path: m.Path, Version: version}, files); err != nil {
		zf.Close()
		return err
	}
	if err := zf.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, version+".mod"), m.GoMod, 0o666); err != nil {
		return err
	}
	stamp, err := commitTime(root)
	if err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, stamp})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, version+".info"), info, 0o666); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "list"), []byte(version+"\n"), 0o666)
}

// commitTime is the time of the commit checked out, which a tag on it would
// give the version.
func commitTime(root string) (time.Time, error) {
	out, err := repo.Command(root, nil, "git", "log", "-1", "--format=%cI")
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(out))
	return t.UTC(), err
}

// diskFile is a file of the work tree as the zip package lists it.
type diskFile struct {
	path string // slash-separated, relative to the module root
	file string // on disk
}

func (f diskFile) Path() string                 { return path.Clean(f.path) }
func (f diskFile) Lstat() (fs.FileInfo, error)  { return os.Lstat(f.file) }
func (f diskFile) Open() (io.ReadCloser, error) { return os.Open(f.file) }
