package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
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
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != name {
				t.Errorf("a backup named with %d bytes left %s", len(name), e.Name())
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
	ctx := context.Background()
	s := openStore(t, testPath(t))
	schedule(t, s, "ns", "u", "p", t0)
	for _, n := range []int{248, 251, 255, 256} {
		dir := t.TempDir()
		path := filepath.Join(dir, strings.Repeat("a", n-3)+".db")
		err := s.Backup(ctx, path)
		if !errors.Is(err, sqlite.ErrInvalidPath) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "at most 247") {
			t.Errorf("a backup named with %d bytes: %v, want ErrInvalidPath naming the path and the limit of 247 bytes", n, err)
		}
		if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
			t.Errorf("a backup named with %d bytes, refused, left %v (%v)", n, entries, err)
		}
	}
}
