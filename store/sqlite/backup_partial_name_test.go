package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		if backUpRefused(t, s, path, "a backup named "+name) == nil {
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
	}
}
