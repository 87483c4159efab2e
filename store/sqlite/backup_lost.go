package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// lostPartial adds to err, the error of a backup to path, that the file
// it was writing its copy to is gone: the file at partial is no longer
// made, the one the backup created, because another process removed it
// (or put another file in its place) meanwhile. SQLite's error of it
// names no file: when the partial file's journal went too, it is a bare
// "disk I/O error (5898)", the journal SQLite could not remove. The
// operating system's error of the partial file (fs.ErrNotExist when it is
// gone) ends the chain, after err, unless err has it already. When the partial file is still made,
// or the system cannot say whether it is there (its look fails for
// another reason than the file being gone: a failing disk's I/O error,
// a directory the process may no longer search), err is returned as it
// is.
func lostPartial(err error, path, partial string, made fs.FileInfo) error {
	fi, serr := os.Lstat(partial)
	switch {
	case serr == nil && os.SameFile(fi, made):
		return err
	case serr != nil && !errors.Is(serr, fs.ErrNotExist):
		return err
	case serr == nil:
		return fmt.Errorf("%w: the backup %q failed: its partial file %q was replaced by another file while the backup ran", err, path, partial)
	}
	const removed = "%w: the backup %q failed: its partial file %q was removed while the backup ran (by another process: remove a backup's partial files only once no backup to its path runs)"
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf(removed, err, path, partial)
	}
	return fmt.Errorf(removed+": %w", err, path, partial, serr)
}
