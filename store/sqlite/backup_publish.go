package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkBackupTarget refuses a backup path where a file already is that
// Backup may not take the place of: one that holds data, or anything but
// an empty regular file (a link, a device, a pipe). It returns the empty
// file it finds, or nil when none is there.
func checkBackupTarget(path string) (fs.FileInfo, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, wrap("backup", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("%w: %s: a link is there (Backup takes the place of nothing but an empty file)", ErrBackupExists, path)
	case !fi.Mode().IsRegular():
		return nil, notRegular(path)
	case fi.Size() > 0:
		return nil, fmt.Errorf("%w: %s", ErrBackupExists, path)
	}
	return fi, nil
}

// publish gives the complete copy at partial the name path, and syncs the
// copy and then its directory, so that once it returns nil a power loss
// loses neither. It never replaces a file that holds data, nor anything
// but an empty regular file: of backups to one path at once, in any
// number of processes, the first to finish takes the name, and the
// others fail with [ErrBackupExists]. It fails if the file at partial
// is no longer made, the one the backup created (lostPartial). On failure
// the partial file is removed.
func publish(partial, path string, made fs.FileInfo) (err error) {
	named := false // path has the copy: partial is gone, as it should be
	defer func() {
		if err != nil {
			if !named {
				err = lostPartial(err, path, partial, made)
			}
			removePartial(partial)
		}
	}()
	if fi, err := os.Lstat(partial); err != nil {
		return wrap("backup", err)
	} else if !os.SameFile(fi, made) {
		return wrap("backup", errors.New("the partial file is another file"))
	}
	if err := syncFile(partial); err != nil {
		return wrap("backup", err)
	}
	// A hard link takes a name only if no file has it, where a rename
	// would replace whatever is there.
	if err := os.Link(partial, path); err == nil {
		named = true
		if err := os.Remove(partial); err != nil {
			return wrap("backup", err)
		}
	} else if err := replaceEmpty(partial, path); err != nil {
		// The name is taken (fs.ErrExist: an empty file the host made
		// beforehand, which Backup accepts, or another backup's copy), or
		// the file system has no hard links: then a rename, if the name
		// is still free (another backup may take it between the look and
		// the rename: such a file system leaves that race open) or an
		// empty file's.
		return err
	}
	named = true
	return wrap("backup", syncDir(filepath.Dir(path)))
}

// replaceEmpty renames the copy at partial over the empty regular file at
// path, or to path if no file has that name. It holds the empty file
// locked (lockFile) from its last look at it to the rename: of backups
// that find one empty file at their path at once, one replaces it, and
// the others find it locked, or no longer at path, and fail with
// [ErrBackupExists], rather than each replace the copy of the one before.
func replaceEmpty(partial, path string) error {
	empty, err := checkBackupTarget(path)
	if err != nil {
		return err
	}
	if empty != nil {
		f, err := openEmpty(path)
		if errors.Is(err, fs.ErrNotExist) {
			return backupBusy(path)
		}
		if err != nil {
			return wrap("backup", err)
		}
		defer f.Close()
		locked, err := lockFile(f)
		if err != nil {
			return wrap("backup", err)
		}
		held, err := f.Stat()
		if err != nil {
			return wrap("backup", err)
		}
		now, err := os.Lstat(path)
		if !locked || err != nil || !os.SameFile(held, empty) || !os.SameFile(held, now) || held.Size() > 0 {
			return backupBusy(path)
		}
	}
	if err := takeOn(partial, empty); err != nil {
		return wrap("backup", err)
	}
	return wrap("backup", os.Rename(partial, path))
}

// backupBusy is the error of a backup whose path another backup is
// writing, or took.
func backupBusy(path string) error {
	return fmt.Errorf("%w: %s: another backup is writing it", ErrBackupExists, path)
}

// syncFile flushes the file at path to disk.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
