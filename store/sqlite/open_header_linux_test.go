//go:build linux

package sqlite_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"golang.org/x/sys/unix"
)

// sharedLock reports whether a process holds the lock SQLite takes on a
// database file while a connection has it open in write-ahead-log mode:
// a read lock on its shared range. f, an open file description of the
// file, asks with F_OFD_GETLK, which the process's own locks answer too.
func sharedLock(t *testing.T, f *os.File) bool {
	t.Helper()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: 1<<30 + 2, Len: 510}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		t.Fatal(err)
	}
	return lk.Type == unix.F_RDLCK
}

// TestOpenKeepsTheLocksOfTheStoresOnTheFile checks that Open of a file a
// store of the process has open, by another path, leaves the store's
// locks on it: reading the file's header through a descriptor of its
// own, closed, would release them (POSIX locks belong to the process),
// and another process could then take the file for unused (and remove
// its write-ahead log as it closes).
func TestOpenKeepsTheLocksOfTheStoresOnTheFile(t *testing.T) {
	path := testPath(t)
	// Closing probe releases the process's locks on the file: it is
	// closed after the store (cleanups run last first).
	probe, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { probe.Close() })
	openStore(t, path)
	if !sharedLock(t, probe) {
		t.Fatal("the store holds no lock on its file")
	}
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), link)
	if err != nil {
		t.Fatal(err)
	}
	if !sharedLock(t, probe) {
		t.Error("Open of the file by a link released the store's lock on it")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !sharedLock(t, probe) {
		t.Error("the second store's Close released the first's lock")
	}
}
