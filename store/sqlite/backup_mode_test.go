//go:build unix

package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestABackupKeepsTheModeOfTheEmptyFileItReplaces checks that a backup
// to an empty file the host made for it (with the permissions, the owner
// and the group it chose: a copy of the users' records, readable by the
// owner alone) keeps them, rather than taking those of a new file, which
// others may read. The owner and group are checked when the test may
// give a file another (as root).
func TestABackupKeepsTheModeOfTheEmptyFileItReplaces(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testPath(t))
	schedule(t, s, "ns", "u", "p", t0)
	dir := t.TempDir()
	root := os.Geteuid() == 0
	for _, mode := range []os.FileMode{0o600, 0o640, 0o664} {
		path := filepath.Join(dir, mode.String()+".db")
		if err := os.WriteFile(path, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		if root {
			if err := os.Chown(path, 4242, 4343); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Backup(ctx, path); err != nil {
			t.Fatalf("a backup to an empty file of mode %v: %v", mode, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() == 0 || fi.Mode().Perm() != mode {
			t.Errorf("a backup to an empty file of mode %v has mode %v (%d bytes)", mode, fi.Mode().Perm(), fi.Size())
		}
		if st := fi.Sys().(*syscall.Stat_t); root && (st.Uid != 4242 || st.Gid != 4343) {
			t.Errorf("a backup to an empty file of owner 4242:4343 has owner %d:%d", st.Uid, st.Gid)
		}
	}
}
