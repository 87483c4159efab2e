package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/campaignconnector/campaignconnector/store"
)

// ErrBackupExists reports a backup path where a file already is (one
// that holds data, or a link), or that another [Store.Backup] is
// writing: Backup never overwrites one.
var ErrBackupExists = errors.New("sqlite: backup file exists")

// Backup writes a consistent copy of the database to a new file at path
// (VACUUM INTO), while the store runs: it is a read transaction, so the
// engines' writes go on meanwhile, and the copy holds what was committed
// when it began. The copy is compact (no free pages) and a database
// [Open] takes as it is.
//
// The copy is written to a hidden file beside path (".NAME.partial-…",
// a long NAME cut short), synced to disk, and only then given the name
// path, which it takes only if no file has it (an empty regular file
// excepted, which it replaces, keeping its permissions, and its owner and
// group as far as the process may give them); then the directory is
// synced (on Unix; a file system that cannot sync a directory, or a
// directory the process may write but not read, keeps it as it does). So
// a file at path is always a whole copy, which a power loss after Backup
// returned does not lose: a backup that fails, or that the end of its
// process cuts short, leaves nothing at path. One that
// fails removes its partial file; one cut short leaves it (with SQLite's
// journal of it, ending in "-journal"). On Linux, on a local file system
// (ext4, XFS, Btrfs, F2FS, ZFS, tmpfs), the next Backup to path removes
// those: a running backup holds its partial file locked (flock), and one
// whose process ended holds nothing, so that a backup running in another
// process keeps its files. Elsewhere, remove them once no backup to that
// path is running (a running backup's files look the same, and removing
// them fails it, with an error that names its path and says so). The
// database's own -wal and -shm files, which a killed process also leaves,
// are not the backup's: keep them.
//
// path must not name a file that holds data or a link, nor one another
// Backup of the process is writing ([ErrBackupExists]); of backups to
// one path by several processes at once, the first to finish takes the
// name, and the others fail with ErrBackupExists (but for two backups to
// a new path on a file system without hard links, such as FAT: both may
// succeed, the later copy replacing the earlier). Its directory must
// exist. path is a file system path, not a URI: a path [Open] would
// refuse (a "file:" URI, ":memory:", a NUL byte, a directory, a device or
// a pipe, a file in a directory that does not exist) is refused with
// [ErrInvalidPath], and nothing is written, as is a name ending as
// SQLite's names of the files it keeps beside a database do ("-journal",
// "-wal", "-shm"): SQLite would take the copy for such a file of the
// database beside it, and remove it. So is a name longer than 247 bytes
// (on Windows, UTF-16 code units): the name of the journal SQLite keeps
// beside a database, 8 bytes longer, must fit in the 255 a file system
// allows, or Open cannot open the copy. So is a name such as a partial
// file's (".NAME.partial-" and 16 hexadecimal digits): a backup to NAME
// would take the copy for a dead backup's file and remove it. On Unix,
// so is a path whose full path, as SQLite makes it (absolute, links
// followed), is longer than the 504 bytes Open takes (see [Open]); and
// the partial file's full path must fit too: its name is path's name cut
// to 200 bytes with 26 bytes added, so the backup's full path may have
// at most 478 bytes for a name of up to 200 bytes, 478 plus the bytes
// past 200 for a longer name (488 for a name of 210), and 504 for a
// name of 226 bytes or more; a longer one fails with ErrInvalidPath
// naming both files, and leaves nothing. A
// directory the operating system does not let the process write fails
// with its error, naming the path.
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
	// The file operations below take the path as SQLite does, lexically:
	// "dir/missing/../b.db" is dir/b.db, as for Open.
	path = filepath.Clean(path)
	done, ok := backups.start(path)
	if !ok {
		return fmt.Errorf("%w: %s: another backup is writing it", ErrBackupExists, path)
	}
	defer done()
	empty, err := checkBackupTarget(path)
	if err != nil {
		return err
	}
	// After checkBackupTarget: a link at path is refused as one, not
	// measured, since the copy is never written where it leads.
	if err := checkBackupPath(path); err != nil {
		return err
	}
	removeStale(path)
	partial, made, release, err := newPartial(path, empty)
	if err != nil {
		return err
	}
	defer release()
	if err := s.vacuumInto(ctx, path, partial); err != nil {
		err = lostPartial(err, path, partial, made)
		removePartial(partial)
		return err
	}
	return publish(partial, path, made)
}

// vacuumInto copies the database into the empty file at partial, the
// backup to path until it is complete.
func (s *Store) vacuumInto(ctx context.Context, path, partial string) error {
	st, err := s.readStmt(ctx, "VACUUM INTO ?")
	if err != nil {
		return wrap("backup", s.readErr(err))
	}
	if err := retried(ctx, func() error { _, err := st.ExecContext(ctx, partial); return err }); err != nil {
		err = s.readErr(err)
		if !errors.Is(err, store.ErrClosed) {
			subject := fmt.Sprintf("%q: its partial file %q (the backup is written to it first)", path, partial)
			if long := pathTooLong(partial, subject, "SQLite could not write the copy (a partial file's name is the backup's, cut to 200 bytes, and 26 more)", "the backup", err); long != nil {
				return long
			}
		}
		return wrap("backup", storageErr(withOpenCause(partial, err), fmt.Sprintf("the backup %q", path), partial))
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
