package sqlite

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// sqliteHeader is the string an SQLite database file starts with.
const sqliteHeader = "SQLite format 3\x00"

// checkHeader refuses, with [ErrInvalidPath], an existing file at path
// that is not empty and does not start with sqliteHeader, before SQLite
// opens it: SQLite refuses most such files, but takes some for a new
// database and writes one over them: a file of one byte (its Unix layer
// reports that size as zero), and any file beside a write-ahead log or a
// rollback journal another database left under its name (SQLite reads
// the log in, or rolls the journal back into the file). The file is the
// one SQLite would open, links followed (sqliteName). An empty file is a
// new database; a file the process may not read, or that is not a
// regular one, is left to checkPath and SQLite to report, as is one
// whose header is SQLite's but whose content is not a database, and one
// whose header a power loss left unwritten beside its journal
// (firstPageLost).
//
// Otherwise it returns the Open's opening, reserved in the same hold of
// turnsMu as the read: the caller releases it once the store has taken
// its turn, or once its connection is closed. SQLite's connection takes
// its locks on the file before the store takes its turn (reading the
// schema as it applies the connection's pragmas, it keeps a shared lock
// on a file in write-ahead-log mode), and a header read of another Open
// meanwhile would release them (readHeader).
func checkHeader(path string) (*opening, error) {
	name := sqliteName(path)
	fi, err := os.Stat(name)
	if err != nil {
		fi = nil
	}
	turnsMu.Lock()
	defer turnsMu.Unlock()
	if fi != nil && fi.Mode().IsRegular() && fi.Size() > 0 {
		if head, ok := readHeader(name, fi); ok && head != sqliteHeader && !firstPageLost(name, head) {
			return nil, fmt.Errorf("%w: %q is not an SQLite database (it does not start with SQLite's header): give the path of a database, or of a new or empty file", ErrInvalidPath, path)
		}
	}
	return reserve(name, fi), nil
}

// firstPageLost reports whether head, the start of the file at name,
// is what a power loss can leave of a new database whose first
// transaction had begun: zero bytes where the header was not written yet,
// beside the rollback journal of that transaction. SQLite rolls the
// journal back into the file at the next open, which the file, holding
// nothing yet, loses nothing to; kill -9 leaves no such state, but a file
// system that stores a file's size before its bytes may.
func firstPageLost(name, head string) bool {
	if head != string(make([]byte, len(sqliteHeader))) {
		return false
	}
	fi, err := os.Lstat(name + "-journal")
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
}

// readHeader returns the first len(sqliteHeader) bytes (fewer if the file
// is shorter) of the file at name, which Stat found as fi; ok is false
// when it could not read them. turnsMu must be held. Closing a
// descriptor of a file releases the locks every SQLite connection of the
// process holds on it (POSIX advisory locks belong to the process), so
// the file is not opened when a store of the process has it open, or an
// Open of the process may be opening it (heldOpen): it is a database
// then (or a new one), and its header is returned as SQLite's. turnsMu
// is held throughout, so an Open that has not reserved its file yet
// hands it to SQLite only once the descriptor is closed.
func readHeader(name string, fi os.FileInfo) (head string, ok bool) {
	if heldOpen(fi) {
		return sqliteHeader, true
	}
	// Not waiting for a writer if a pipe has taken the file's place.
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", false
	}
	defer f.Close()
	if now, err := f.Stat(); err != nil || !now.Mode().IsRegular() {
		return "", false
	}
	buf := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, buf)
	if n == 0 || (err != nil && !errors.Is(err, io.ErrUnexpectedEOF)) {
		return "", false // emptied since, a new database; or unreadable
	}
	return string(buf[:n]), true
}
