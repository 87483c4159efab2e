//go:build unix

package sqlite_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// TestABackupIsNotADatabasesCompanionFile checks that Backup refuses the
// names SQLite gives the files it keeps beside a database (-journal,
// -wal, -shm), of the store's own database or another: SQLite would take
// the copy for one of them. A copy named as the live database's journal
// looks to every connection that opens the database as a journal left by
// a crash, so that none opens while the store runs, and the first to open
// it once the store is closed removes the copy.
func TestABackupIsNotADatabasesCompanionFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "cc.db")
	s := openStore(t, src)
	schedule(t, s, "ns", "u", "p", t0)
	other := filepath.Join(dir, "other.db")
	openStore(t, other).Close()
	// An empty log of a database no store has open, under another name.
	if err := os.WriteFile(other+"-wal", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	alias := filepath.Join(dir, "alias.db")
	if err := os.Symlink(other+"-wal", alias); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		src + "-journal", src + "-wal", src + "-shm",
		other + "-journal", other + "-shm", alias,
	} {
		before, _ := os.Lstat(path)
		err := s.Backup(ctx, path)
		if !errors.Is(err, sqlite.ErrInvalidPath) {
			t.Errorf("Backup(%q): %v, want ErrInvalidPath", path, err)
		}
		after, _ := os.Lstat(path)
		if (before == nil) != (after == nil) || before != nil && before.Size() != after.Size() {
			t.Errorf("Backup(%q) changed the file there", path)
		}
	}
	s2, err := sqlite.Open(ctx, src)
	if err != nil {
		t.Fatalf("a second store on the database: %v", err)
	}
	s2.Close()
}

// TestABackupIsARegularFile checks that Backup refuses a path where a
// pipe or a device is, rather than write a database into it (a disk,
// which reports no size, would be written over).
func TestABackupIsARegularFile(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testPath(t))
	schedule(t, s, "ns", "u", "p", t0)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, os.DevNull} {
		err := s.Backup(ctx, path)
		if !errors.Is(err, sqlite.ErrInvalidPath) {
			t.Errorf("Backup(%q): %v, want ErrInvalidPath", path, err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().IsRegular() {
			t.Errorf("Backup(%q) replaced it: %v", path, err)
		}
	}
	if fi, _ := os.Stat(fifo); fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the pipe is gone")
	}
}

// TestOpenRefusesAFileThatIsNotRegular checks that Open refuses a pipe or
// a device, which SQLite cannot keep a database in, with ErrInvalidPath,
// rather than fail on its first write with a disk error and leave a
// journal beside it.
func TestOpenRefusesAFileThatIsNotRegular(t *testing.T) {
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "fifo")}
	if err := syscall.Mkfifo(paths[0], 0o644); err != nil {
		t.Fatal(err)
	}
	// A device of its own, where this user may make one: SQLite would
	// leave its journal beside it, in the directory of /dev/null.
	null := filepath.Join(dir, "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err == nil {
		paths = append(paths, null)
	}
	for _, path := range paths {
		s, err := sqlite.Open(context.Background(), path)
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, sqlite.ErrInvalidPath) || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Open(%q): %v, want ErrInvalidPath", path, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(paths) {
		t.Errorf("Open left %d files beside the %d it refused", len(entries)-len(paths), len(paths))
	}
}
