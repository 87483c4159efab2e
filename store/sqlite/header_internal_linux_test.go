package sqlite

import (
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// holdsSharedLock reports whether a process holds a read lock on the
// shared range of the database file f is open on, SQLite's while a
// connection has the file open in write-ahead-log mode; F_OFD_GETLK
// answers for the process's own locks too.
func holdsSharedLock(t *testing.T, f *os.File) bool {
	t.Helper()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: 1<<30 + 2, Len: 510}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		t.Fatal(err)
	}
	return lk.Type == unix.F_RDLCK
}

// TestHeaderReadSparesTheFileAnOpenFoundMissing checks that the header
// read of an Open spares the file of another Open that found no file at
// its path, and whose connection has since opened the database another
// process made there: the first Open's store has not taken its turn
// yet, so the write turns do not know the file, and closing a
// descriptor of it would release the lock the connection holds.
func TestHeaderReadSparesTheFileAnOpenFoundMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cc.db")
	first, err := checkHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.release()
	if first.file != nil {
		t.Fatal("checkHeader found a file at a new path")
	}
	// The database another process makes at path, as the first Open's
	// connection (this one) opens it and reads it.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(wal)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(context.Background(), "CREATE TABLE t (v)"); err != nil {
		t.Fatal(err)
	}
	probe, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close() // after db's: it releases the process's locks
	defer db.Close()
	if !holdsSharedLock(t, probe) {
		t.Fatal("the connection holds no lock on the file")
	}
	second, err := checkHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	second.release()
	if !holdsSharedLock(t, probe) {
		t.Error("the second Open's header read released the lock of the first's connection")
	}
}
