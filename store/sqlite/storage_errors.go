package sqlite

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// storageErr adds to err, when it is SQLite's report of a write the file
// system refused, what the operating system says about it. SQLite reports
// a write cut short (by ENOSPC, or by EFBIG past the process's file size
// limit) as "database or disk is full (13)", a write refused outright
// (EFBIG included) as a bare "disk I/O error (778)", and names no file.
// The context names the file (what, naming path; a database's write-ahead
// log and shared memory, files, are beside it), the bytes free on its file
// system, and the file at the process's file size limit (RLIMIT_FSIZE), if
// one is. The cause it finds, syscall.ENOSPC or syscall.EFBIG, ends the
// chain, after SQLite's error. Other errors are returned as they are.
func storageErr(err error, what, path string, files ...string) error {
	if !refusedWrite(err) {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "writing %s failed", what)
	r := roomOf(path)
	var cause error
	if r.known {
		fmt.Fprintf(&b, "; its file system has %d bytes free", r.free)
		if r.free < nearlyFull {
			cause = errNoSpace
		}
	}
	if r.limited {
		for _, f := range append([]string{path}, files...) {
			if fi, err := os.Stat(f); err == nil && fi.Size()+nearlyFull > int64(r.limit) {
				fmt.Fprintf(&b, "; %q is %d bytes, at the process's file size limit (RLIMIT_FSIZE) of %d bytes", f, fi.Size(), r.limit)
				cause = errTooLarge
				break
			}
		}
	}
	if cause != nil {
		return fmt.Errorf("%w: %s: %w", err, b.String(), cause)
	}
	return fmt.Errorf("%w: %s", err, b.String())
}

// nearlyFull is the room under which a file system or a file's size
// limit counts as reached: that of a few pages, about what one write of
// SQLite adds at once.
const nearlyFull = 64 << 10

// refusedWrite reports whether err is SQLite's report of a write the
// file system refused (refusedWriteCode).
func refusedWrite(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && refusedWriteCode(e.Code())
}

// refusedWriteCode reports whether code, an extended result code, is
// SQLite's report of a full disk (SQLITE_FULL) or of a write, a flush or a
// growth of a file that failed: the failures ENOSPC, EFBIG or a quota
// cause. The I/O errors of reads, locks, opens, stats, deletes and memory
// are not: the room left says nothing of them.
func refusedWriteCode(code int) bool {
	switch code {
	case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_IOERR_WRITE, sqlite3.SQLITE_IOERR_FSYNC, sqlite3.SQLITE_IOERR_DIR_FSYNC,
		sqlite3.SQLITE_IOERR_TRUNCATE, sqlite3.SQLITE_IOERR_SHMSIZE:
		return true
	}
	return code&0xff == sqlite3.SQLITE_FULL
}

// dbErr is storageErr for the store's database and the files beside it.
func (s *Store) dbErr(err error) error {
	p := s.w.path
	return storageErr(err, fmt.Sprintf("the database %q (or its -wal or -shm file)", p), p, p+"-wal", p+"-shm")
}

// room is what the operating system says about the room for a file to
// grow: the bytes free on its file system (known is false when it could
// not tell) and the process's file size limit (limited is false when
// there is none, or it could not tell).
type room struct {
	known   bool
	free    uint64
	limited bool
	limit   uint64
}
