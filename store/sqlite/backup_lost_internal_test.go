package sqlite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestALostPartialIsOneThatIsGone checks that a backup's error says its
// partial file was removed only when the system says the file is not
// there: a look at it that fails otherwise (an I/O error of a failing
// disk, a directory the process may no longer search, here a name under
// a file) does not show it removed, and the error stays the backup's own.
func TestALostPartialIsOneThatIsGone(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	made, err := os.Lstat(file)
	if err != nil {
		t.Fatal(err)
	}
	cause := errors.New("disk I/O error")
	// Lstat of a name under a regular file fails with ENOTDIR.
	got := lostPartial(cause, filepath.Join(dir, "b.db"), filepath.Join(file, ".b.db.partial-0123456789abcdef"), made)
	if got != cause {
		t.Errorf("a partial file the system could not look at: %v, want the backup's error as it is", got)
	}
	got = lostPartial(cause, filepath.Join(dir, "b.db"), filepath.Join(dir, ".b.db.partial-0123456789abcdef"), made)
	if !errors.Is(got, cause) || !strings.Contains(got.Error(), "was removed while the backup ran") {
		t.Errorf("a partial file that is gone: %v, want the backup's error saying it was removed", got)
	}
}
