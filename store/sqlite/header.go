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
// whose header is SQLite's but whose content is not a database.
func checkHeader(path string) error {
	name := sqliteName(path)
	fi, err := os.Stat(name)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return nil
	}
	head, ok := readHeader(name, fi)
	if !ok || head == sqliteHeader {
		return nil
	}
	return fmt.Errorf("%w: %q is not an SQLite database (it does not start with SQLite's header): give the path of a database, or of a new or empty file", ErrInvalidPath, path)
}

// readHeader returns the first len(sqliteHeader) bytes (fewer if the file
// is shorter) of the file at name, which Stat found as fi; ok is false
// when it could not read them. Closing a descriptor of a file releases
// the locks every SQLite connection of the process holds on it (POSIX
// advisory locks belong to the process), so the file is not opened when
// a store of the process has it open (heldOpen): it is a database then,
// and its header is returned as SQLite's. turnsMu is held throughout, so
// a store opening the file meanwhile takes its locks (after its turn)
// only once the descriptor is closed.
func readHeader(name string, fi os.FileInfo) (head string, ok bool) {
	turnsMu.Lock()
	defer turnsMu.Unlock()
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
