package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// ErrBackupExists reports a backup path where a non-empty file already
// is, or that another [Store.Backup] of the process is writing: Backup
// never overwrites one.
var ErrBackupExists = errors.New("sqlite: backup file exists")

// Backup writes a consistent copy of the database to a new file at path
// (VACUUM INTO), while the store runs: it is a read transaction, so the
// engines' writes go on meanwhile, and the copy holds what was committed
// when it began. The copy is compact (no free pages), synced to disk
// before Backup returns, and a database [Open] takes as it is. path must
// not name an existing non-empty file, nor one another Backup of the
// process is writing ([ErrBackupExists]); its directory must exist. path
// is a file system path, not a URI: a path [Open] would refuse (a "file:"
// URI, ":memory:", a NUL byte, a directory, a file in a directory that
// does not exist) is refused with [ErrInvalidPath], and nothing is
// written. A failed backup may leave a partial file at path: remove it.
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
	done, ok := backups.start(path)
	if !ok {
		return fmt.Errorf("%w: %s: another backup is writing it", ErrBackupExists, path)
	}
	defer done()
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

// backups are the paths of the backups under way in the process: two
// Backup calls to one path at once would both pass the check of the file
// there, and the second fail with SQLite's error of the copy it collides
// with ("table … already exists") once the first has written it.
var backups inProgress

// inProgress is a set of paths being written, by their absolute form.
type inProgress struct {
	mu    sync.Mutex
	paths map[string]bool
}

// start adds path to the set and returns the function that removes it,
// or false if it is there already.
func (p *inProgress) start(path string) (done func(), ok bool) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paths[path] {
		return nil, false
	}
	if p.paths == nil {
		p.paths = map[string]bool{}
	}
	p.paths[path] = true
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.paths, path)
	}, true
}
