package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// backupClaim is a backup's hold on its file while SQLite writes it: the
// file, open and locked (lockFile), so that a Backup of another process to
// the same path finds it taken and fails with [ErrBackupExists] rather than
// writing into it.
type backupClaim struct {
	f       *os.File
	path    string
	created bool // the claim created the file, rather than finding it empty
}

// claimBackup creates the file at path exclusively, or opens the empty
// file there, and locks it. The file is not opened when it holds data
// already: it may be a database a store of the process has open, whose
// locks closing a descriptor of it would release (POSIX advisory locks
// belong to the process). A file another Backup holds, one it wrote, or
// one replaced meanwhile, is refused with [ErrBackupExists]; one that is
// not a regular file (a device, a pipe) with [ErrInvalidPath]; a file the
// operating system does not let the process create or write is refused
// with its error, naming the path.
func claimBackup(path string) (*backupClaim, error) {
	switch fi, err := os.Stat(path); {
	case err == nil && !fi.Mode().IsRegular():
		return nil, notRegular(path)
	case err == nil && fi.Size() > 0:
		return nil, fmt.Errorf("%w: %s", ErrBackupExists, path)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, wrap("backup", err)
	}
	c := &backupClaim{path: path, created: true}
	// The mode is the one SQLite gives the files it creates.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		c.created = false
		f, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	if err != nil {
		return nil, wrap("backup", err)
	}
	c.f = f
	locked, err := lockFile(f)
	if err == nil && !locked {
		err = c.busy()
	}
	if err == nil {
		err = c.check()
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

// busy is the error of a claim whose file another backup holds.
func (c *backupClaim) busy() error {
	return fmt.Errorf("%w: %s: another backup is writing it", ErrBackupExists, c.path)
}

// check returns nil when the locked file is still the one at the path,
// regular and empty: another backup may have written it, or removed it after it
// failed, between the claim's open and its lock.
func (c *backupClaim) check() error {
	held, err := c.f.Stat()
	if err != nil {
		return wrap("backup", err)
	}
	now, err := os.Stat(c.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c.busy()
	case err != nil:
		return wrap("backup", err)
	case !os.SameFile(held, now):
		return c.busy()
	case !held.Mode().IsRegular():
		return notRegular(c.path)
	case held.Size() > 0:
		return fmt.Errorf("%w: %s", ErrBackupExists, c.path)
	}
	return nil
}

// finish ends the claim with err, the outcome of the copy: on success it
// syncs the file and its directory (the file's name in it), and on failure it removes the
// file it created (or empties again the one it found empty), before it
// releases the lock.
func (c *backupClaim) finish(err error) error {
	if err == nil {
		err = wrap("backup", c.f.Sync())
	}
	if err != nil {
		if c.created {
			os.Remove(c.path)
		} else {
			c.f.Truncate(0)
		}
		c.f.Close()
		return err
	}
	if err := c.f.Close(); err != nil {
		return wrap("backup", err)
	}
	return wrap("backup", syncDir(filepath.Dir(c.path)))
}
