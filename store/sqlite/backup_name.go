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
// ignores case compares them.
func checkBackupName(path string) error {
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
	}
	return nil
}
