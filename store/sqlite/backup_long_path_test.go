//go:build unix

package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
	msqlite "modernc.org/sqlite"
)

// backupRefused backs s up to path and checks that Backup fails with
// ErrInvalidPath naming path and saying length, with SQLite's error in
// its chain when sqliteErr, and that path's directory then holds only
// what it held before.
func backupRefused(t *testing.T, s *sqlite.Store, path, length string, sqliteErr bool, what string) {
	t.Helper()
	dir := filepath.Dir(path)
	before, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Backup(context.Background(), path)
	var e *msqlite.Error
	if !errors.Is(err, sqlite.ErrInvalidPath) || errors.As(err, &e) != sqliteErr ||
		!strings.Contains(err.Error(), fmt.Sprintf("%q", path)) || !strings.Contains(err.Error(), length) {
		t.Errorf("%s: Backup: %v, want ErrInvalidPath naming the path and saying %q (SQLite's error in its chain: %v)", what, err, length, sqliteErr)
	}
	if after, err := os.ReadDir(dir); err != nil || len(after) != len(before) {
		t.Errorf("%s, refused, left %v (%v), had %v", what, after, err, before)
	}
}

// backsUp backs s up to path and checks that the copy opens.
func backsUp(t *testing.T, s *sqlite.Store, path, what string) {
	t.Helper()
	if err := s.Backup(context.Background(), path); err != nil {
		t.Errorf("%s: Backup: %v", what, err)
		return
	}
	c, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Errorf("%s: Open of the copy: %v", what, err)
		return
	}
	if n, err := c.PendingCount(context.Background(), "ns"); err != nil || n != 1 {
		t.Errorf("%s: the copy holds %d pending deliveries (%v), want 1", what, n, err)
	}
	c.Close()
}

// TestBackupRefusesAFullPathTooLong checks the full paths Backup takes.
// The copy's must fit in the 504 bytes Open takes: a longer one is
// refused before anything is written, even when the partial file the
// copy is first written to, whose name is cut to 226 bytes, fits and
// SQLite would write it. The partial file's must fit too: its name adds
// 26 bytes to a name of up to 200, so a backup of such a name whose full
// path has 479 bytes fails, with ErrInvalidPath naming the path and the
// partial file's length, where SQLite said only "unable to open
// database", and leaves nothing; one of 478 works. A name between 200
// and 226 bytes gets the bytes past 200 back: named with 210, 488 works
// and 489 fails.
func TestBackupRefusesAFullPathTooLong(t *testing.T) {
	s := openStore(t, testPath(t))
	schedule(t, s, "ns", "u1", "p1", t0)

	path := deepFile(t, physicalTempDir(t), 505, 230)
	backupRefused(t, s, path, tooLong(505), false, "a backup of 505 bytes named with 230")
	backsUp(t, s, deepFile(t, physicalTempDir(t), 504, 230), "a backup of 504 bytes named with 230")

	path = deepFile(t, physicalTempDir(t), 479, 20)
	backupRefused(t, s, path, tooLong(505), true, "a backup of 479 bytes named with 20")
	backsUp(t, s, deepFile(t, physicalTempDir(t), 478, 20), "a backup of 478 bytes named with 20")

	path = deepFile(t, physicalTempDir(t), 489, 210)
	backupRefused(t, s, path, tooLong(505), true, "a backup of 489 bytes named with 210")
	backsUp(t, s, deepFile(t, physicalTempDir(t), 488, 210), "a backup of 488 bytes named with 210")
}

// TestBackupToALinkToALongPathIsRefusedAsALink checks that a link at the
// backup path is refused as one (ErrBackupExists), however long the path
// it leads to: Backup writes no copy through a link, so the length of the
// link's target is no reason to refuse it.
func TestBackupToALinkToALongPathIsRefusedAsALink(t *testing.T) {
	s := openStore(t, testPath(t))
	schedule(t, s, "ns", "u1", "p1", t0)

	target := deepFile(t, physicalTempDir(t), 505, 20)
	path := filepath.Join(physicalTempDir(t), "link.db")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	err := s.Backup(context.Background(), path)
	if !errors.Is(err, sqlite.ErrBackupExists) || errors.Is(err, sqlite.ErrInvalidPath) {
		t.Errorf("Backup to a link to a path of 505 bytes: %v, want ErrBackupExists (a link is there)", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link's target: %v, want none", err)
	}
}
