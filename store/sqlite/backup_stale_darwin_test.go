package sqlite_test

import "testing"

// localLocks reports false: outside Linux, Backup removes no other
// backup's partial file.
func localLocks(*testing.T, string) bool { return false }
