package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
)

// ErrBackupExists reports a backup path where a non-empty file already
// is, or that another [Store.Backup] is writing, in this process or (on
// Linux, macOS and the BSDs) in another: Backup never overwrites one.
var ErrBackupExists = errors.New("sqlite: backup file exists")

// Backup writes a consistent copy of the database to a new file at path
// (VACUUM INTO), while the store runs: it is a read transaction, so the
// engines' writes go on meanwhile, and the copy holds what was committed
// when it began. The copy is compact (no free pages) and a database
// [Open] takes as it is. Before Backup returns, the file is synced to
// disk, and so is its directory (on Unix; a file system that cannot sync
// a directory, or a directory the process may write but not read, keeps
// it as it does), so that a power loss after Backup
// returned loses neither the file's name nor the copy. path must
// not name an existing non-empty file, nor one another Backup is writing
// ([ErrBackupExists]); its directory must exist. Backup creates the file
// first, and holds a lock on it while it writes, so that of several
// backups to one path at once, in one process or several, one writes it
// and the others fail with ErrBackupExists and write nothing. path is a
// file system path, not a URI: a path [Open] would refuse (a "file:" URI,
// ":memory:", a NUL byte, a directory, a device or a pipe, a file in a
// directory that does not exist) is refused with [ErrInvalidPath], and
// nothing is written, as is a name ending as SQLite's names of the files
// it keeps beside a database do ("-journal", "-wal", "-shm"): SQLite
// would take the copy for such a file of the database beside it, and
// remove it. A file the operating system does not let the process create
// or write fails with its error, naming the path. A backup that fails
// removes the file it created (or empties again the empty file it found);
// one cut short by the end of the process may leave a partial file, with
// SQLite's journal of it (path+"-journal"), that Open takes as an empty
// database: remove both.
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
	if err := checkBackupName(path); err != nil {
		return err
	}
	done, ok := backups.start(path)
	if !ok {
		return fmt.Errorf("%w: %s: another backup is writing it", ErrBackupExists, path)
	}
	defer done()
	c, err := claimBackup(path)
	if err != nil {
		return err
	}
	return c.finish(s.vacuumInto(ctx, path))
}

// vacuumInto copies the database into the file at path.
func (s *Store) vacuumInto(ctx context.Context, path string) error {
	st, err := s.readStmt(ctx, "VACUUM INTO ?")
	if err != nil {
		return wrap("backup", s.readErr(err))
	}
	if err := retried(ctx, func() error { _, err := st.ExecContext(ctx, path); return err }); err != nil {
		return wrap("backup", storageErr(withOpenCause(path, s.readErr(err)), fmt.Sprintf("the backup %q", path), path))
	}
	return nil
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
