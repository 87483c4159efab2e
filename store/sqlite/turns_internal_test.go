package sqlite

import (
	"os"
	"path/filepath"
	"testing"
)

// Stores of one process opened on the same file share its write turn
// whatever path names the file: through a symbolic link, relative, or with
// ".." after a symbolically linked directory, which names the parent of
// the link's target (a lexical clean would name another file).
func TestStoresOfOneFileShareTheirTurnByAnyPath(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "a", "cc.db") // real/../cc.db
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	first := takeTurns(file, nil)
	defer first.release(nil)
	for _, path := range []string{"link/../cc.db", "a/b/../cc.db", "a/cc.db", root + "/link/../cc.db"} {
		turn := takeTurns(path, nil)
		if turn != first {
			t.Errorf("%s: a turn of its own (%s), not the file's (%s)", path, turn.key, first.key)
		}
		turn.release(nil)
	}
	if other := takeTurns(filepath.Join(root, "cc.db"), nil); other == first {
		t.Error("another file shares the turn")
	} else {
		other.release(nil)
	}
}
