package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// TestBackupRefusesWhatOpenRefuses checks that Backup takes a file system
// path as Open does: a "file:" URI (which SQLite would read as a URI and
// write elsewhere, then report failure), a path holding a NUL byte (the
// copy would go to the part before it), the in-memory database and an empty
// path are refused with ErrInvalidPath, and nothing is written.
func TestBackupRefusesWhatOpenRefuses(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "c.db"))
	dir := t.TempDir()
	for _, path := range []string{
		"file:" + filepath.Join(dir, "uri.db"),
		filepath.Join(dir, "nul.db") + "\x00x",
		":memory:",
		"",
		filepath.Join(dir, "missing", "b.db"),
	} {
		err := s.Backup(ctx, path)
		if !errors.Is(err, sqlite.ErrInvalidPath) {
			t.Errorf("Backup(%q): %v, want ErrInvalidPath", path, err)
		}
	}
	for _, name := range fileNames(t, dir) {
		t.Errorf("a refused backup wrote %s", name)
	}
}

// TestBackupToADirectoryIsAnInvalidPath checks that a directory given as
// the backup's path is refused as Open refuses it, with ErrInvalidPath,
// not as a backup that already exists (a directory's size is not zero on
// most file systems, but it holds no backup).
func TestBackupToADirectoryIsAnInvalidPath(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "c.db"))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := s.Backup(context.Background(), dir)
	if !errors.Is(err, sqlite.ErrInvalidPath) || errors.Is(err, sqlite.ErrBackupExists) {
		t.Errorf("Backup(%q), a directory: %v, want ErrInvalidPath", dir, err)
	}
}

// TestBackupTakesDotDotAsOpenDoes checks that a backup path through a
// directory that does not exist and back ("dir/missing/../b.db") names
// dir/b.db, as it does for Open (SQLite reads ".." in the name, not on
// the disk), rather than failing when Backup creates its file.
func TestBackupTakesDotDotAsOpenDoes(t *testing.T) {
	dir := t.TempDir()
	// Joined by hand: filepath.Join would clean the path itself.
	s := openStore(t, dir+"/missing/../c.db")
	if err := s.Backup(context.Background(), dir+"/missing/../b.db"); err != nil {
		t.Fatalf("Backup through missing/..: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.db")); err != nil {
		t.Errorf("the backup is not at dir/b.db: %v", err)
	}
}
