//go:build unix

package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestABackupIntoADirectoryItMayNotRead checks that a backup into a
// directory the process may write but not read (a drop box, mode 0333)
// is written and succeeds: the directory cannot be opened to sync it, and
// SQLite leaves such a directory unsynced too. Root reads any directory:
// as root, the test runs itself as another user.
func TestABackupIntoADirectoryItMayNotRead(t *testing.T) {
	if runUnprivileged(t) {
		return // a child ran it as another user
	}
	ctx := context.Background()
	s := openStore(t, testPath(t))
	schedule(t, s, "ns", "u", "p", t0)
	dir := filepath.Join(t.TempDir(), "dropbox")
	if err := os.Mkdir(dir, 0o333); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	path := filepath.Join(dir, "b.db")
	if err := s.Backup(ctx, path); err != nil {
		t.Fatalf("a backup into a drop box: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := openStore(t, path)
	if n, err := b.PendingCount(ctx, "ns"); err != nil || n != 1 {
		t.Errorf("the copy holds %d pending deliveries (%v), want 1", n, err)
	}
}
