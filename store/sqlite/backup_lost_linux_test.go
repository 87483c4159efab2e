//go:build linux

package sqlite_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"modernc.org/sqlite"
)

// envUnlinkChild names, in a TestBackupUnlinkHeldChild process, the
// database to back up and the backup's path, a line each.
const envUnlinkChild = "CCBK_UNLINK_CHILD"

// TestABackupWhosePartialFileIsRemovedSaysSo checks that a backup whose
// hidden partial file another process removes while the copy is written
// fails with an error that names the backup's path and the partial file
// and says it was removed, rather than SQLite's bare "disk I/O error
// (5898)" (its journal gone too) or the partial file's "no such file or
// directory" (the partial file alone gone), and leaves nothing behind.
// The child stops as SQLite removes the partial file's journal, the end
// of the copy, until the parent has removed the files (a seccomp filter
// that hands each unlink to the child's own supervisor).
func TestABackupWhosePartialFileIsRemovedSaysSo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	src := testPath(t)
	schedule(t, openStore(t, src), "ns", "u", "p", t0)
	for _, tc := range []struct {
		name    string
		journal bool // the partial file's journal is removed too
		sqlite  bool // the error is SQLite's
	}{
		{"with its journal", true, true},
		{"alone", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "b.db")
			k := startChild(t, "TestBackupUnlinkHeldChild", envUnlinkChild+"="+src+"\n"+target)
			res := k.backUpHeld(t, "unlinking ", func(removed string) {
				// SQLite removes the partial file's journal once the copy
				// is written (and before, to find none, when there is none).
				if partial, ok := strings.CutSuffix(removed, "-journal"); ok && strings.Contains(partial, ".b.db.partial-") && exists(removed) {
					if err := os.Remove(partial); err != nil {
						t.Fatal(err)
					}
					if tc.journal {
						if err := os.Remove(removed); err != nil {
							t.Fatal(err)
						}
					}
				}
			})
			if !strings.Contains(res, fmt.Sprintf("the backup %q failed: its partial file", target)) || !strings.Contains(res, "was removed while the backup ran") {
				t.Errorf("a backup whose partial file was removed: %s, want an error naming its path and saying the partial file was removed", res)
			}
			want := "(notexist=true sqlite=false)"
			if tc.sqlite {
				want = "(notexist=true sqlite=true)"
			}
			if !strings.Contains(res, want) {
				t.Errorf("a backup whose partial file was removed: %s, want %s", res, want)
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
				t.Errorf("the failed backup left %v (%v)", entries, err)
			}
		})
	}
}

// exists reports whether a file is at path.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// TestBackupUnlinkHeldChild is a child of
// TestABackupWhosePartialFileIsRemovedSaysSo: it opens the database, backs
// up on the line "go", and says "unlinking" and the file at each removal
// of a file the backup makes and goes on at the next line; then it says
// the outcome, with whether errors.Is(err, fs.ErrNotExist) holds and
// whether the error is SQLite's. Run on its own, it skips.
func TestBackupUnlinkHeldChild(t *testing.T) {
	spec := os.Getenv(envUnlinkChild)
	if spec == "" {
		t.Skip("the child process of TestABackupWhosePartialFileIsRemovedSaysSo")
	}
	args := strings.Split(spec, "\n")
	held, err := backUpHolding(t, args[0], args[1], []uint32{unix.SYS_UNLINKAT, sysUnlink}, nil, func(c heldCall) string {
		return "unlinking " + c.unlinked()
	})
	if !held {
		return
	}
	if err == nil {
		fmt.Println("result: written")
		return
	}
	var e *sqlite.Error
	fmt.Printf("result: %s (notexist=%t sqlite=%t)\n", strings.ReplaceAll(err.Error(), "\n", " "),
		errors.Is(err, fs.ErrNotExist), errors.As(err, &e))
}
