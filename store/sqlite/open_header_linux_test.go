//go:build linux

package sqlite_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
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

// descriptorsOf counts the descriptors of the process open on the file
// fi, from /proc/self/fd (asked with stat, which opens nothing).
func descriptorsOf(t *testing.T, fi os.FileInfo) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if now, err := os.Stat(filepath.Join("/proc/self/fd", e.Name())); err == nil && os.SameFile(now, fi) {
			n++
		}
	}
	return n
}

// opened is the outcome of an Open run by a goroutine.
type opened struct {
	s   *sqlite.Store
	err error
}

func openAsync(path string) <-chan opened {
	done := make(chan opened, 1)
	go func() {
		s, err := sqlite.Open(context.Background(), path)
		done <- opened{s, err}
	}()
	return done
}

// TestOpenKeepsTheLocksOfAStoreStillOpening checks that Open of a file
// another Open of the process is opening leaves that store's locks on
// it: the first store's connection takes its shared lock on the file
// while it reads the schema, before Open has taken the store's turn, and
// a header read of the second, through a descriptor of its own, closed,
// would release it then. The first store is held there, lock taken: the
// test holds every reader's slot of the write-ahead log's index (an open
// file description's lock, which conflicts with the process's own), and
// SQLite retries for a reader's until the test lets go. The second Open
// runs meanwhile, and once SQLite has opened the file for it, the lock
// must still be there: the process would hold none otherwise, and
// another process could take the file for unused and remove its log.
func TestOpenKeepsTheLocksOfAStoreStillOpening(t *testing.T) {
	path := testPath(t)
	s0, err := sqlite.Open(context.Background(), path) // a database in write-ahead-log mode
	if err != nil {
		t.Fatal(err)
	}
	if err := s0.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	probe, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { probe.Close() }) // after the stores: it releases the process's locks
	shm, err := os.OpenFile(path+"-shm", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shm.Close() })
	readers := func(typ int16) {
		t.Helper()
		// The wal-index's locks start at byte 120: write, checkpoint,
		// recover, then the five readers' slots.
		lk := unix.Flock_t{Type: typ, Whence: io.SeekStart, Start: 123, Len: 5}
		if err := unix.FcntlFlock(shm.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
			t.Fatal(err)
		}
	}
	readers(unix.F_WRLCK)
	held := true
	defer func() {
		if held {
			readers(unix.F_UNLCK)
		}
	}()

	first := openAsync(path)
	var a, b opened
	for !sharedLock(t, probe) {
		select {
		case a = <-first:
			t.Fatalf("the first Open ended before it took its lock: %v", a.err)
		default:
			runtime.Gosched()
		}
	}
	second := openAsync(path)
	for descriptorsOf(t, fi) < 3 { // the probe's, and each store's connection's
		select {
		case b = <-second:
			t.Fatalf("the second Open ended while the first waited: %v", b.err)
		default:
			runtime.Gosched()
		}
	}
	if !sharedLock(t, probe) {
		t.Error("the second Open released the lock the first store's connection holds")
	}
	readers(unix.F_UNLCK)
	held = false
	a, b = <-first, <-second
	for _, o := range []opened{a, b} {
		if o.err != nil {
			t.Fatal(o.err)
		}
		t.Cleanup(func() { o.s.Close() })
	}
	if !sharedLock(t, probe) {
		t.Error("with both stores open, the process holds no lock on the file")
	}
}
