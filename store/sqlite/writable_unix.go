//go:build unix

package sqlite

import (
	"io/fs"
	"syscall"
)

// writable reports why the process may not write the file at path,
// without opening it: access(2) with W_OK, which also reports a
// read-only file system.
func writable(path string) error {
	if err := syscall.Access(path, 2 /* W_OK */); err != nil {
		return &fs.PathError{Op: "access", Path: path, Err: err}
	}
	return nil
}
