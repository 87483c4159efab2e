package sqlite

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"unicode/utf16"
)

// companions are the endings SQLite gives the names of the files it keeps
// beside a database, with what each is.
var companions = []struct{ suffix, what string }{
	{"-journal", "rollback journal"},
	{"-wal", "write-ahead log"},
	{"-shm", "shared-memory index"},
}

// checkBackupName refuses, with [ErrInvalidPath], a backup path whose name
// (or that of the file it links to) is one SQLite gives a database's
// companion file: SQLite would take the copy for the journal or the log
// of the database beside it, whether a store has it open or not. A copy
// named as a live database's journal looks to each connection that opens
// the database like the journal of a crashed write, so that none opens
// while the store runs, and the first to open it afterwards removes it.
// The endings are compared without regard to case, as a file system that
// ignores case compares them. A name partialPath gives a backup's partial
// file is refused too (isPartialName).
func checkBackupName(path string) error {
	if err := checkNameLength(path); err != nil {
		return err
	}
	names := []string{path}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		names = append(names, real)
	}
	for _, name := range names {
		base := filepath.Base(name)
		for _, c := range companions {
			if n := len(base) - len(c.suffix); n > 0 && strings.EqualFold(base[n:], c.suffix) {
				return fmt.Errorf("%w: %q: a name ending in %q is the one SQLite gives a database's %s, and it would take the backup for one: give the backup another name",
					ErrInvalidPath, path, c.suffix, c.what)
			}
		}
		if isPartialName(base) {
			return fmt.Errorf("%w: %q: a name such as \".NAME.partial-\" and 16 hexadecimal digits is the one Backup gives the file it writes a backup to NAME to, and a backup to NAME would take the copy for a dead backup's and remove it: give the backup another name",
				ErrInvalidPath, path)
		}
	}
	return nil
}

// isPartialName reports whether name is one partialPath gives: ".", a
// name (maybe cut short, maybe empty), ".partial-" and the random part
// (isPartialID). removeStale removes such a file, once no backup holds
// it, as a dead backup's: a backup so named would be removed by the next
// backup to the name it repeats.
func isPartialName(name string) bool {
	i := strings.LastIndex(name, partialTag)
	return i >= 1 && name[0] == '.' && isPartialID(name[i+len(partialTag):])
}

// nameMax is the length of the longest name of a file that most file
// systems take: 255 bytes (on Windows, 255 UTF-16 code units).
const nameMax = 255

// backupNameMax is the length of the longest name a backup may have: the
// journal SQLite keeps beside a database while it changes it, named as
// the database with "-journal" after it, must fit in nameMax. A copy with
// a longer name is one [Open] cannot open, nor SQLite change.
const backupNameMax = nameMax - len("-journal")

// checkNameLength refuses, with [ErrInvalidPath], a backup path whose
// name is longer than backupNameMax: the operating system would take
// names of up to nameMax, but the copy would be one Open cannot open.
func checkNameLength(path string) error {
	if n := nameLength(filepath.Base(path)); n > backupNameMax {
		unit := "bytes"
		if runtime.GOOS == "windows" {
			unit = "UTF-16 code units"
		}
		return fmt.Errorf("%w: %q: its name is %d %s long, and a backup's may be at most %d: SQLite keeps a database's journal beside it, named as the database with \"-journal\" after it, and a name may be at most %d %s long, so Open could not open the copy: give the backup a shorter name",
			ErrInvalidPath, path, n, unit, backupNameMax, nameMax, unit)
	}
	return nil
}

// nameLength is the length of a file's name as its file system counts it
// against nameMax: in bytes, on Windows in UTF-16 code units.
func nameLength(name string) int {
	if runtime.GOOS == "windows" {
		return len(utf16.Encode([]rune(name)))
	}
	return len(name)
}
