package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrBackupExists reports a backup path where a non-empty file already
// is: [Store.Backup] never overwrites one.
var ErrBackupExists = errors.New("sqlite: backup file exists")

// Backup writes a consistent copy of the database to a new file at path
// (VACUUM INTO), while the store runs: it is a read transaction, so the
// engines' writes go on meanwhile, and the copy holds what was committed
// when it began. The copy is compact (no free pages), synced to disk
// before Backup returns, and a database [Open] takes as it is. path must
// not name an existing non-empty file ([ErrBackupExists]); its directory
// must exist. path is a file system path, not a URI: a path [Open] would
// refuse (a "file:" URI, ":memory:", a NUL byte, a directory, a file in a
// directory that does not exist) is refused with [ErrInvalidPath], and
// nothing is written. A failed backup may leave a partial file at path:
// remove it.
func (s *Store) Backup(ctx context.Context, path string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if unusableName(path) != "" {
		return fmt.Errorf("%w: %q: give the file system path of a new file (not a URI, not \":memory:\")", ErrInvalidPath, path)
	}
	if err := checkPath(path); err != nil {
		return err // before the size: a directory is not a backup that exists
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return fmt.Errorf("%w: %s", ErrBackupExists, path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return wrap("backup", err)
	}
	st, err := s.readStmt(ctx, "VACUUM INTO ?")
	if err != nil {
		return wrap("backup", s.readErr(err))
	}
	if err := retried(ctx, func() error { _, err := st.ExecContext(ctx, path); return err }); err != nil {
		return wrap("backup", storageErr(s.readErr(err), fmt.Sprintf("the backup %q", path), path))
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return wrap("backup", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return wrap("backup", err)
}
