package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// SQLite says only "unable to open database file": Open adds what the
// operating system says of the file or its directory.
func TestOpenSaysWhyTheFileCannotBeOpened(t *testing.T) {
	paths := refusedPaths(t, "cc.db")
	for _, path := range paths {
		s, err := sqlite.Open(context.Background(), path)
		if err == nil {
			s.Close()
			t.Fatalf("%s: opened", path)
		}
		if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "permission denied") ||
			!strings.Contains(err.Error(), "directory must be writable") {
			t.Errorf("%s: %v: the cause is missing", path, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: left behind (%v)", path, err)
		}
	}
}

// A path through a regular file, however deep, is refused as one whose
// directory does not exist: SQLite would say only "unable to open database
// file". The error names the file in the way; this fails for root too.
func TestAPathThroughAFileIsAnInvalidPath(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, filepath.Join(dir, "c.db"))
	for _, path := range []string{
		filepath.Join(file, "cc.db"),
		filepath.Join(file, "sub", "cc.db"),
		filepath.Join(file, "sub", "deeper", "cc.db"),
	} {
		_, err := sqlite.Open(ctx, path)
		if !errors.Is(err, sqlite.ErrInvalidPath) || !strings.Contains(err.Error(), fmt.Sprintf("%q is not a directory", file)) {
			t.Errorf("Open(%q): %v, want ErrInvalidPath naming %s", path, err, file)
		}
		err = s.Backup(ctx, path)
		if !errors.Is(err, sqlite.ErrInvalidPath) || !strings.Contains(err.Error(), fmt.Sprintf("%q is not a directory", file)) {
			t.Errorf("Backup(%q): %v, want ErrInvalidPath naming %s", path, err, file)
		}
	}
}

// SQLite opens a database it may read but not write, or one in a
// directory where it may not create the write-ahead log, and then says
// only "attempt to write a readonly database": Open adds what the
// operating system says of the file or its directory.
func TestOpenSaysWhyTheFileIsReadOnly(t *testing.T) {
	if runUnprivileged(t) {
		return // root writes files and directories whatever their modes: a child ran it as another user
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "locked")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cc.db")
	createClosed(t, path)
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	for _, step := range []struct {
		name              string
		dirMode, fileMode os.FileMode
	}{
		{"a directory it may not write", 0o500, 0o600},
		{"a file it may not write", 0o700, 0o400},
	} {
		if err := os.Chmod(dir, step.dirMode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, step.fileMode); err != nil {
			t.Fatal(err)
		}
		s, err := sqlite.Open(ctx, path)
		if err == nil {
			s.Close()
			t.Fatalf("%s: opened", step.name)
		}
		if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s: %v: the cause is missing", step.name, err)
		}
	}
}

// A process that may read the file but not write it, in a directory it
// may write, leaves the write-ahead log's files beside it with the file's
// mode, which it cannot write either (SQLite gives them the database's
// mode): once the file is writable again, SQLite makes the log anew but
// not its index (-shm), says only "attempt to write a readonly database",
// and Open adds that the operating system refuses the index.
func TestOpenSaysWhyTheWriteAheadLogIsReadOnly(t *testing.T) {
	if runUnprivileged(t) {
		return // root writes files whatever their modes: a child ran it as another user
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cc.db")
	createClosed(t, path)
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlite.Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("a file it may not write: opened")
	}
	for _, name := range []string{path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o400 {
			t.Fatalf("%s: %v, %v: the failed Open left no read-only file there", name, fi, err)
		}
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("a write-ahead log it may not write: opened")
	}
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), path+"-shm") {
		t.Errorf("%v: the cause is missing", err)
	}
	for _, name := range []string{path + "-wal", path + "-shm"} {
		if err := os.Chmod(name, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("the files made writable: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// Backup creates its file before SQLite writes it, so a directory that
// refuses a new file is reported with the operating system's cause and
// the path, where SQLite would say only "unable to open database file".
func TestBackupSaysWhyItCannotCreateTheFile(t *testing.T) {
	paths := refusedPaths(t, "b.db")
	s := openStore(t, filepath.Join(t.TempDir(), "c.db"))
	for _, path := range paths {
		err := s.Backup(context.Background(), path)
		if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), path) {
			t.Errorf("Backup(%q): %v: the cause is missing", path, err)
		}
	}
}

// refusedPaths returns paths of files named name in directories that
// refuse this user a new file, or skips the test when there is none.
func refusedPaths(t *testing.T, name string) []string {
	var paths []string
	if os.Geteuid() != 0 {
		// A directory its owner may not write.
		dir := filepath.Join(t.TempDir(), "locked")
		if err := os.Mkdir(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		paths = append(paths, filepath.Join(dir, name))
	}
	if runtime.GOOS == "linux" {
		// sysfs refuses new files even to root.
		if fi, err := os.Stat("/sys/kernel"); err == nil && fi.IsDir() {
			paths = append(paths, "/sys/kernel/"+name)
		}
	}
	if len(paths) == 0 {
		t.Skip("no directory here refuses this user a new file")
	}
	return paths
}

// SQLite keeps the write-ahead log's files beside the file the links on
// the way to the path lead to, and refuses them when they are links
// themselves: Open names the read-only index beside the linked file, and
// not one beside the link, nor a link, that SQLite does not use.
func TestOpenNamesTheWriteAheadLogSQLiteUses(t *testing.T) {
	if runUnprivileged(t) {
		return // root writes files whatever their modes: a child ran it as another user
	}
	ctx := context.Background()
	readOnly := func(name string) {
		t.Helper()
		if err := os.WriteFile(name, make([]byte, 32768), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	newFile := func() string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "cc.db")
		createClosed(t, path)
		return path
	}
	open := func(path string) error {
		t.Helper()
		s, err := sqlite.Open(ctx, path)
		if err == nil {
			s.Close()
			t.Fatalf("%s: opened", path)
		}
		return err
	}

	// The database reached through a link, its index read-only, and a
	// stale read-only index beside the link.
	path := newFile()
	readOnly(path + "-shm")
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	readOnly(link + "-shm")
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	err = open(link)
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), real+"-shm") || strings.Contains(err.Error(), link+"-shm") {
		t.Errorf("through a link: %v: want the cause of %s-shm alone", err, real)
	}

	// An index that is a link to a read-only file: SQLite refuses the
	// link whatever it leads to, so the file's mode is not the cause.
	path = newFile()
	target := filepath.Join(t.TempDir(), "target")
	readOnly(target)
	if err := os.Symlink(target, path+"-shm"); err != nil {
		t.Fatal(err)
	}
	if err := open(path); strings.Contains(err.Error(), "write-ahead log") {
		t.Errorf("an index that is a link: %v: names its target's mode", err)
	}
}

// createClosed creates a store's database at path and closes it, leaving
// no write-ahead log beside it.
func createClosed(t *testing.T, path string) {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
}

// SQLite creates the write-ahead log beside the file the links on the way
// to the path lead to: a database reached through a link, in a directory
// the process may not write, is reported as that directory's refusal, and
// the link's own directory, which it may write, is not the cause.
func TestOpenSaysWhyTheLinkedFilesDirectoryIsReadOnly(t *testing.T) {
	if runUnprivileged(t) {
		return // root writes directories whatever their modes: a child ran it as another user
	}
	dir := filepath.Join(t.TempDir(), "locked")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cc.db")
	createClosed(t, path)
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), link)
	if err == nil {
		s.Close()
		t.Fatal("opened")
	}
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "the directory must be writable") {
		t.Errorf("%v: the cause is missing", err)
	}
}
