package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"unicode/utf16"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// nameMax is the length of the longest name of a file that most file
// systems take: 255 bytes (on Windows, 255 UTF-16 code units).
const nameMax = 255

// journalNameMax is the length of the longest name a database SQLite
// writes through its rollback journal may have: the journal, named as the
// database with "-journal" after it, must fit in nameMax. SQLite writes a
// new file, and one it puts in write-ahead-log mode, through the journal;
// a backup's copy is such a file.
const journalNameMax = nameMax - len("-journal")

// walNameMax is the length of the longest name a database in
// write-ahead-log mode may have: its log and the log's index, named as the
// database with "-wal" and "-shm" after it, must fit in nameMax.
const walNameMax = nameMax - len("-wal")

// nameLength is the length of a file's name as its file system counts it
// against nameMax: in bytes, on Windows in UTF-16 code units.
func nameLength(name string) int {
	if runtime.GOOS == "windows" {
		return len(utf16.Encode([]rune(name)))
	}
	return len(name)
}

// nameUnit is the unit nameLength counts in.
func nameUnit() string {
	if runtime.GOOS == "windows" {
		return "UTF-16 code units"
	}
	return "bytes"
}

// nameTooLong is the [ErrInvalidPath] of a file, named by subject, whose
// name is n long where whose (say "a backup's") may be at most limit: the
// name of the file SQLite keeps beside it, its what, which adds suffix to
// the name, would be longer than nameMax. cannot says what fails; fix
// names what to give a shorter name.
func nameTooLong(subject string, n, limit int, whose, what, suffix, cannot, fix string) error {
	unit := nameUnit()
	return fmt.Errorf("%w: %s: its name is %d %s long, and %s may be at most %d: SQLite keeps a database's %s beside it, named as the database with %q after it, and a name may be at most %d %s long, so %s: give %s a shorter name",
		ErrInvalidPath, subject, n, unit, whose, limit, what, suffix, nameMax, unit, cannot, fix)
}

// checkOpenName refuses, with [ErrInvalidPath], a path Open could not use
// for the length of its file's name: SQLite names the files it keeps
// beside a database after the file a link leads to (sqliteName). A new
// file's name may be at most journalNameMax long (SQLite writes it through
// its journal), an existing file's walNameMax (the store keeps it in
// write-ahead-log mode, and SQLite could not open its log). An existing
// file named with more than journalNameMax is opened: one already in
// write-ahead-log mode works; one not yet, which SQLite cannot switch to
// it, fails later (journalNeeded).
func checkOpenName(path string) error {
	real := sqliteName(path)
	n := nameLength(filepath.Base(real))
	_, err := os.Stat(path)
	switch {
	case err == nil && n > walNameMax:
		return nameTooLong(subject(path, real), n, walNameMax, "a database's", "write-ahead log", "-wal",
			"SQLite could not open the file", "the file")
	case err != nil && n > journalNameMax && (errors.Is(err, fs.ErrNotExist) || n > nameMax):
		return nameTooLong(subject(path, real), n, journalNameMax, "a new database's", "journal", "-journal",
			"SQLite could not create the file", "the file")
	}
	return nil // other errors of Stat (permissions) are SQLite's to report
}

// journalNeeded is the [ErrInvalidPath] of the file at path when err,
// SQLite's error of putting it in write-ahead-log mode, comes from a name
// too long for its journal (longer than journalNameMax): SQLite says only
// "unable to open database file", which the error keeps in its chain. It
// returns nil for another error, or when the operating system names
// another cause (openCause).
func journalNeeded(path string, err error) error {
	real := sqliteName(path)
	n := nameLength(filepath.Base(real))
	var e *sqlite.Error
	if n <= journalNameMax || !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_CANTOPEN || openCause(path) != nil {
		return nil
	}
	long := nameTooLong(subject(path, real), n, journalNameMax, "a database's not yet in write-ahead-log mode", "journal", "-journal",
		"SQLite could not put the file in write-ahead-log mode", "the file")
	return fmt.Errorf("%w (SQLite: %w)", long, err)
}

// subject names path in nameTooLong's error, with the file it leads to
// when it is a link.
func subject(path, real string) string {
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return fmt.Sprintf("%q", path)
	}
	return fmt.Sprintf("%q (a link to %q)", path, real)
}

// sqliteName is the path of the file SQLite opens for path, after whose
// name it names the files it keeps beside the database: on Unix, the full
// path it makes of path, links followed (fullPath); elsewhere, or where
// that fails, path itself (on Windows SQLite makes a path absolute without
// following links).
func sqliteName(path string) string {
	if full, _, ok := fullPath(path); ok {
		return full
	}
	return path
}
