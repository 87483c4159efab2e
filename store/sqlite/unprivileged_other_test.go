//go:build !unix

package sqlite_test

import "testing"

// runUnprivileged reports false: where there is no root to leave, the
// caller runs the test itself.
func runUnprivileged(*testing.T) bool { return false }
