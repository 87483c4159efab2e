//go:build unix

package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A path that starts with "//" names the file the system finds for it, as
// one with a single "/" does: the store does not read it as a URI naming a
// host ("file://tmp/…" would, and SQLite refuse it for its authority).
func TestAPathStartingWithTwoSlashesOpens(t *testing.T) {
	path := testPath(t)
	s := openStore(t, "/"+path)
	schedule(t, s, "ns", "u1", "p1", t0)

	again := openStore(t, filepath.Clean(path))
	n, err := again.PendingCount(context.Background(), "ns")
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the store's file is the one the path names")
}
