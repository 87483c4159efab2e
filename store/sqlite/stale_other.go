//go:build !linux

package sqlite

import "os"

// locksAreLocal reports false: outside Linux, Backup does not tell the
// file systems whose flock(2) locks are reliable, and removes no other
// backup's partial file.
func locksAreLocal(string) bool { return false }

// otherLocks reports true: outside Linux, no partial file is taken for a
// dead backup's.
func otherLocks(*os.File) bool { return true }
