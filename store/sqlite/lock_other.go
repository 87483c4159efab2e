//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlite

import (
	"errors"
	"os"
)

// lockFile takes no lock where the system offers no flock(2): a backup
// that replaces an empty file then guards it against the other backups
// of the process alone.
func lockFile(*os.File) (bool, error) { return true, nil }

// openEmpty opens, to lock it, the empty file at path that a backup is
// to replace.
func openEmpty(path string) (*os.File, error) { return os.Open(path) }

// tryLock fails where the system offers no flock(2).
func tryLock(*os.File) (bool, error) { return false, errors.ErrUnsupported }

// holdsLocks is whether the system has flock(2): it has not, so a backup
// holds no lock on its partial file, and none removes another's.
const holdsLocks = false
