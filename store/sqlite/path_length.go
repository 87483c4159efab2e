package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// pathMax is the length, in bytes, of the longest full path SQLite's
// Unix file system layer takes (MAX_PATHNAME, the mxPathname of its unix
// VFS): 512.
const pathMax = 512

// fullPathMax is the length of the longest full path of a database SQLite
// opens: it refuses a database whose journal's full path, the database's
// with "-journal" after it, would be longer than pathMax (the
// write-ahead log's, with "-wal", is shorter).
const fullPathMax = pathMax - len("-journal")

// maxSymlinks is the number of links SQLite follows in a path
// (SQLITE_MAX_SYMLINK); it fails at the next one.
const maxSymlinks = 200

// fullPath is the full path SQLite's Unix file system layer makes of path
// (unixFullPathname): absolute (after the process's working directory, as
// the system gives it), each name in turn looked up and, if it is a link,
// replaced by where the link leads; "." dropped, ".." taking off the name
// before it, both where they stand, so after the links before them are
// followed. most is the longest the path gets on the way: SQLite fails as
// soon as it reaches pathMax, even when ".." or a link would shorten it
// afterwards. ok is false where SQLite would fail for another cause (a
// name it may not look up, too many links), and on Windows, whose layer
// is another.
func fullPath(path string) (full string, most int, ok bool) {
	if runtime.GOOS == "windows" || path == "" {
		return "", 0, false
	}
	p := &dbPath{}
	if path[0] != '/' {
		wd, err := syscall.Getwd()
		if err != nil {
			return "", 0, false
		}
		p.appendAll(wd)
	}
	p.appendAll(path)
	if p.failed || len(p.out) < 2 {
		return "", 0, false
	}
	return string(p.out), max(p.most, len(p.out)), true
}

// dbPath is a full path fullPath is building, as SQLite's DbPath.
type dbPath struct {
	out      []byte
	most     int
	symlinks int
	failed   bool
}

// appendAll appends each name of path in turn (appendAllPathElements).
func (p *dbPath) appendAll(path string) {
	for name := range strings.SplitSeq(path, "/") {
		if name != "" && !p.failed {
			p.appendOne(name)
		}
	}
}

// appendOne appends one name to the path, following it if it is a link
// (appendOnePathElement).
func (p *dbPath) appendOne(name string) {
	switch name {
	case ".":
		return
	case "..":
		if len(p.out) > 1 {
			i := len(p.out) - 1
			for i > 0 && p.out[i] != '/' {
				i--
			}
			p.out = p.out[:i]
		}
		return
	}
	p.out = append(append(p.out, '/'), name...)
	p.most = max(p.most, len(p.out))
	// Once the path reached pathMax, SQLite has failed for its length
	// and looks up nothing more: the rest only measures the full path,
	// taking a name it cannot look up (too long for the system, say) as
	// one that is missing.
	over := p.most >= pathMax
	fi, err := os.Lstat(string(p.out))
	if err != nil {
		p.failed = !over && !errors.Is(err, fs.ErrNotExist)
		return
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return
	}
	p.symlinks++
	if p.symlinks > maxSymlinks+1 {
		p.failed = !over
		return
	}
	target, err := os.Readlink(string(p.out))
	if err != nil || target == "" {
		p.failed = !over
		return
	}
	if target[0] == '/' {
		p.out = p.out[:0]
	} else {
		p.out = p.out[:len(p.out)-len(name)-1]
	}
	p.appendAll(target)
}

// pathTooLong is the [ErrInvalidPath] of the file at file when err,
// SQLite's error of opening it, comes from a full path too long
// (fullPath): longer than fullPathMax, or reaching pathMax on the way.
// SQLite says only "unable to open database file", which the error
// keeps in its chain. subject names the file, cannot says what fails,
// fix names what to give a shorter path (fullPathTooLong). It returns
// nil for another error, or when the operating system names another
// cause (openCause).
func pathTooLong(file, subject, cannot, fix string, err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_CANTOPEN {
		return nil
	}
	full, most, ok := fullPath(file)
	if !ok || (len(full) <= fullPathMax && most < pathMax) || openCause(file) != nil {
		return nil
	}
	return fmt.Errorf("%w (SQLite: %w)", fullPathTooLong(file, subject, full, most, cannot, fix), err)
}

// checkBackupPath refuses, with [ErrInvalidPath], a backup path whose
// full path (fullPath) is longer than fullPathMax, or reaches pathMax on
// the way: SQLite would write the copy (under another name) and the file
// system take its name, but Open could not open it. Nothing fails to
// tell, so the length is measured before the backup starts.
func checkBackupPath(path string) error {
	full, most, ok := fullPath(path)
	if ok && (len(full) > fullPathMax || most >= pathMax) {
		return fullPathTooLong(path, fmt.Sprintf("%q", path), full, most, "Open could not open the copy", "the backup")
	}
	return nil
}

// fullPathTooLong is the [ErrInvalidPath] of the file at path, named by
// subject, whose full path as SQLite makes it is full, most bytes long at
// its longest on the way. cannot says what fails; fix names what to give
// a shorter path.
func fullPathTooLong(path, subject, full string, most int, cannot, fix string) error {
	named := ""
	if full != path {
		named = fmt.Sprintf(", %q,", full)
	}
	if len(full) <= fullPathMax {
		return fmt.Errorf("%w: %s: its full path%s (SQLite makes a path absolute and follows its links) reaches %d bytes on the way, before a \"..\" or a link shortens it to %d, and SQLite fails on a full path of %d bytes or more, even on the way, so %s: give %s a shorter path",
			ErrInvalidPath, subject, named, most, len(full), pathMax, cannot, fix)
	}
	return fmt.Errorf("%w: %s: its full path%s (SQLite makes a path absolute and follows its links) is %d bytes long, and may be at most %d: SQLite keeps a database's journal beside it, named as the database with %q after it, and a full path may have at most %d bytes, so %s: give %s a shorter path",
		ErrInvalidPath, subject, named, len(full), fullPathMax, "-journal", pathMax, cannot, fix)
}
