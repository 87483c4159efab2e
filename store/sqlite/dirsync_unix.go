//go:build unix

package sqlite

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// syncDir makes the entries of dir durable, such as the name of a file
// just created in it, by fsync(2) of the directory. A file system that
// cannot sync a directory (EINVAL, ENOTSUP) keeps its entries as it does:
// that is not an error. Nor is a directory the process may write but not
// read (a drop box), which it cannot open to sync: SQLite leaves such a
// directory unsynced too.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrPermission) {
		return nil
	}
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EINVAL) {
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
