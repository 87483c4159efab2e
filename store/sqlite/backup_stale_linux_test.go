//go:build linux

package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestABackupRemovesTheFilesOfDeadBackups checks that a backup removes
// the partial files, with their journals, that backups to its path left
// when their process ended (none holds them locked), and leaves those of
// a backup still running (held locked, as by another process, with
// flock(2), or with fcntl(2) as SQLite locks the file it writes), and
// every other file: a lone journal, and names partialPath does not write.
func TestABackupRemovesTheFilesOfDeadBackups(t *testing.T) {
	dir := t.TempDir()
	if !localLocks(t, dir) {
		t.Skip("the test directory's file system is not one whose locks Backup trusts")
	}
	dead := []string{
		".b.db.partial-0123456789abcdef", ".b.db.partial-0123456789abcdef-journal",
		".b.db.partial-00000000ffffffff",
	}
	live := []string{
		".b.db.partial-fedcba9876543210", ".b.db.partial-fedcba9876543210-journal",
		".b.db.partial-1111111111111111", // locked as SQLite locks a file it writes
	}
	others := []string{
		".b.db.partial-aaaaaaaaaaaaaaaa-journal", // a journal alone
		".b.db.partial-0123456789ABCDEF",
		".b.db.partial-0123456789abcde",
		".b.db.partial-0123456789abcdef0",
		"b.db.partial-0123456789abcdef",
		".c.db.partial-0123456789abcdef",
	}
	for _, name := range slices.Concat(dead, live, others) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("SQLite format 3\x00"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(filepath.Join(dir, live[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	// An open file description's lock (F_OFD_SETLK) is, to the process's
	// own check, another process's.
	g, err := os.OpenFile(filepath.Join(dir, live[2]), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Start: 1 << 30, Len: 1}
	if err := unix.FcntlFlock(g.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		t.Fatal(err)
	}

	s := openStore(t, testPath(t))
	schedule(t, s, "ns", "u", "p", t0)
	if err := s.Backup(context.Background(), filepath.Join(dir, "b.db")); err != nil {
		t.Fatal(err)
	}
	left := fileNames(t, dir)
	want := slices.Concat([]string{"b.db"}, live, others)
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("after a backup, the directory holds %q, want %q", left, want)
	}
}

// localLocks reports whether dir is on a file system whose locks Backup
// trusts to tell a running backup from a dead one: a local disk's.
func localLocks(t *testing.T, dir string) bool {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	switch uint32(st.Type) {
	case unix.EXT4_SUPER_MAGIC, unix.TMPFS_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC:
		return true
	}
	return false
}

// TestABackupToANameInTheWorkingDirectoryRemovesDeadFiles checks that a
// backup given a bare name ("b.db", in the working directory) removes the
// partial files dead backups to it left, as one given a directory does.
func TestABackupToANameInTheWorkingDirectoryRemovesDeadFiles(t *testing.T) {
	dir := t.TempDir()
	if !localLocks(t, dir) {
		t.Skip("the test directory's file system is not one whose locks Backup trusts")
	}
	s := openStore(t, testPath(t))
	schedule(t, s, "ns", "u", "p", t0)
	dead := filepath.Join(dir, ".b.db.partial-0123456789abcdef")
	if err := os.WriteFile(dead, []byte("SQLite format 3\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if err := s.Backup(context.Background(), "b.db"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dead); err == nil {
		t.Errorf("a backup to b.db in its directory left the dead backup's %s", filepath.Base(dead))
	}
}
