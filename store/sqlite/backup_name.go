package sqlite

import (
	"fmt"
	"path/filepath"
	"strings"
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

// checkNameLength refuses, with [ErrInvalidPath], a backup path whose
// name is longer than journalNameMax: the operating system would take
// names of up to nameMax, but the copy would be one Open cannot open.
func checkNameLength(path string) error {
	if n := nameLength(filepath.Base(path)); n > journalNameMax {
		return nameTooLong(fmt.Sprintf("%q", path), n, journalNameMax, "a backup's", "journal", "-journal",
			"Open could not open the copy", "the backup")
	}
	return nil
}
