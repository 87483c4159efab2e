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

// TestABackupNamedAsAPartialFileIsRefused checks that a backup whose name
// is one a partial file of another backup has (".NAME.partial-" and 16
// hexadecimal digits, NAME cut short if long) is refused with
// ErrInvalidPath, and nothing is written: a later backup to NAME would
// take the copy for a dead backup's partial file and remove it.
func TestABackupNamedAsAPartialFileIsRefused(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testPath(t))
	schedule(t, s, "ns", "u", "p", t0)
	long := strings.Repeat("a", 240) + ".db"
	for _, name := range []string{
		".b.db.partial-0123456789abcdef",
		"." + long[:200] + ".partial-00000000ffffffff",
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		err := s.Backup(ctx, path)
		if err == nil {
			// What the refusal prevents: the next backup to the path whose
			// partial files are so named removes the copy.
			next := filepath.Join(dir, "b.db")
			if strings.HasPrefix(name, "."+long[:200]) {
				next = filepath.Join(dir, long)
			}
			if err := s.Backup(ctx, next); err != nil {
				t.Fatal(err)
			}
			if _, serr := os.Lstat(path); serr != nil {
				t.Errorf("the backup %s was removed by the backup to %s: %v", name, filepath.Base(next), serr)
			}
		}
		if !errors.Is(err, sqlite.ErrInvalidPath) || !strings.Contains(err.Error(), path) {
			t.Errorf("a backup named %s: %v, want ErrInvalidPath naming the path", name, err)
			continue
		}
		if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
			t.Errorf("a backup named %s, refused, left %v (%v)", name, entries, err)
		}
	}
}
