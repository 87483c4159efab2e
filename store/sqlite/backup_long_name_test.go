package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestABackupWithALongNameIsWritten checks that a backup's name as long
// as SQLite can give a database (its journal's name, 8 bytes longer,
// within the 255 bytes of a name) is one Backup takes: its hidden partial
// file, whose name adds to the backup's, cuts that name short rather than
// fail with "file name too long". Multi-byte characters are cut whole.
func TestABackupWithALongNameIsWritten(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testPath(t))
	schedule(t, s, "ns", "u", "p", t0)
	for _, name := range []string{
		strings.Repeat("a", 221) + ".db",
		strings.Repeat("a", 236) + ".db",
		strings.Repeat("a", 244) + ".db",
		strings.Repeat("a", 247),
		strings.Repeat("é", 122) + ".db",
		"a" + strings.Repeat("😀", 60) + ".db",
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		if err := s.Backup(ctx, path); err != nil {
			t.Errorf("a backup named with %d bytes: %v", len(name), err)
			continue
		}
		for _, left := range fileNames(t, dir) {
			if left != name {
				t.Errorf("a backup named with %d bytes left %s", len(name), left)
			}
		}
		b := openStore(t, path)
		if n, err := b.PendingCount(ctx, "ns"); err != nil || n != 1 {
			t.Errorf("a backup named with %d bytes holds %d pending deliveries (%v), want 1", len(name), n, err)
		}
	}
}

// TestABackupWithANameTooLongToOpenIsRefused checks that a backup's name
// longer than 247 bytes, which the file system takes (up to 255 bytes) but
// whose journal's name (8 bytes longer) it does not, is refused with
// ErrInvalidPath naming the path and the limit, and nothing is written:
// the copy would be one Open cannot open ("unable to open database file").
func TestABackupWithANameTooLongToOpenIsRefused(t *testing.T) {
	s := openStore(t, testPath(t))
	schedule(t, s, "ns", "u", "p", t0)
	for _, n := range []int{248, 251, 255, 256} {
		path := filepath.Join(t.TempDir(), strings.Repeat("a", n-3)+".db")
		backUpRefused(t, s, path, fmt.Sprintf("a backup named with %d bytes", n), "at most 247")
	}
}
