//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlite

import (
	"errors"
	"os"
	"syscall"
)

// openEmpty opens, to lock it, the empty file at path that a backup is
// to replace: not through a link, and without waiting for a writer if a
// pipe has taken its place.
func openEmpty(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}

// lockFile takes an exclusive flock(2) on f without waiting: false when
// another open of the file holds one. flock locks belong to the open file,
// not to the process, so SQLite's own locks on the file (fcntl) neither
// take nor release it. The lock goes with f's close.
func lockFile(f *os.File) (bool, error) {
	locked, err := tryLock(f)
	if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.ENOLCK) {
		return true, nil // a file system without locks: the process's own check stays
	}
	return locked, err
}

// tryLock takes an exclusive flock(2) on f without waiting, as lockFile
// does, but fails where the file system has no locks.
func tryLock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return false, &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
}

// holdsLocks is whether the system has flock(2): a backup holds its
// partial file locked while it runs, and a later one removes the partial
// files of those that no longer do (removeStale).
const holdsLocks = true
