package sqlite

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unicode/utf8"
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

// partialBaseMax bounds the bytes of path's name that the name of its
// partial file repeats: the partial name adds 26 bytes to them, and
// SQLite's journal of it 8 more, which must stay within the 255 bytes a
// name may have on most file systems, so that a name a backup could take
// when written in place is one it can take through a partial file.
const partialBaseMax = 200

// partialPath returns the name of the file a backup to path is written
// to before it takes path's name: hidden, in path's directory (so that
// renaming it is atomic), and of this backup only. A long name of path
// is cut short in it, at the start of a character.
func partialPath(path string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	dir, base := filepath.Split(path)
	if len(base) > partialBaseMax {
		n := partialBaseMax
		for n > 0 && !utf8.RuneStart(base[n]) {
			n--
		}
		base = base[:n]
	}
	return filepath.Join(dir, "."+base+".partial-"+hex.EncodeToString(b[:])), nil
}

// createPartial creates the file the copy is written to, exclusively,
// with the mode SQLite gives the files it creates, or, when an empty
// file is at path (empty, from checkBackupTarget), with that file's
// permissions and, as far as the process may give them, its owner and
// group (takeOn): a host that made the file for the backup chose who may
// read it. An error the operating system gives (a directory the process
// may not write) is its own, with the backup's path. It returns what the
// system says of the file it made, which lostPartial looks for.
func createPartial(path, partial string, empty fs.FileInfo) (fs.FileInfo, error) {
	mode := fs.FileMode(0o644)
	if empty != nil {
		mode = 0o600 // until it has the empty file's
	}
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return nil, fmt.Errorf("sqlite: backup %q: %w", path, err)
	}
	made, err := f.Stat()
	f.Close()
	if err == nil {
		err = takeOn(partial, empty)
	}
	if err != nil {
		removePartial(partial)
		return nil, fmt.Errorf("sqlite: backup %q: %w", path, err)
	}
	return made, nil
}

// takeOn gives the file at partial the permissions of empty, the empty
// file it is to replace, and its owner and group where the process may
// (sameOwner). With no empty file, it changes nothing.
func takeOn(partial string, empty fs.FileInfo) error {
	if empty == nil {
		return nil
	}
	sameOwner(partial, empty)
	return os.Chmod(partial, empty.Mode().Perm())
}

// removePartial removes the partial file of a backup that failed, and the
// journal SQLite may have left beside it.
func removePartial(partial string) {
	os.Remove(partial)
	os.Remove(partial + "-journal")
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
	switch err := os.Link(partial, path); {
	case err == nil:
		named = true
		if err := os.Remove(partial); err != nil {
			return wrap("backup", err)
		}
	case errors.Is(err, fs.ErrExist):
		// An empty file is there (Backup accepts one, made by the host
		// beforehand), or another backup took the name meanwhile.
		if err := replaceEmpty(partial, path); err != nil {
			return err
		}
	default:
		// A file system without hard links: rename, if the name is still
		// free (another backup may take it between the look and the
		// rename: such a file system leaves that race open) or an empty
		// file's.
		if err := replaceEmpty(partial, path); err != nil {
			return err
		}
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
