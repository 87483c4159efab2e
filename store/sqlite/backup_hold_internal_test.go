//go:build linux

package sqlite

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHoldFailsOnAPartialFileTakenForADeadOne checks that a backup that
// has just made its partial file, but not yet locked it, gives it up
// (errPartialTaken, and newPartial tries another name) when another
// backup's removeStale has locked it meanwhile, or removed it: the copy
// would go to a file that is removed, or is no longer at its name.
func TestHoldFailsOnAPartialFileTakenForADeadOne(t *testing.T) {
	for _, taken := range []string{"locked", "removed"} {
		partial := filepath.Join(t.TempDir(), ".b.db.partial-0123456789abcdef")
		f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		made, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		other, err := os.Open(partial)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Flock(int(other.Fd()), unix.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		if taken == "removed" {
			os.Remove(partial)
			other.Close()
		}
		release, err := hold(f, partial, made)
		if !errors.Is(err, errPartialTaken) {
			t.Errorf("holding a partial file another backup %s: %v, want errPartialTaken", taken, err)
		}
		release()
		other.Close()
		if livePartials.has(made) {
			t.Errorf("a partial file released is still live")
		}
	}
}
