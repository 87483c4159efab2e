//go:build linux

package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"golang.org/x/sys/unix"
)

// envStepChild names, in a TestBackupStepChild process, the database to
// back up and the backup's path, a line each.
const envStepChild = "CCBK_STEP_CHILD"

// TestABackupBesideAnotherAtEachStepRemovesNothingOfIt checks that a
// backup that removes the partial files of dead backups to its path
// leaves those of a backup to that path running in another process, at
// each step of it: its partial file just made and not yet locked (which
// the other backup takes and removes, so that it makes another), the
// copy being written, the copy about to take its name, and its own
// removal of a dead backup's files. Of the two, this process's backup,
// which runs whole while the child stops at the step, takes the name, and
// the child's fails with ErrBackupExists (not with its partial file
// removed); nothing else is left.
func TestABackupBesideAnotherAtEachStepRemovesNothingOfIt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx := context.Background()
	src := testPath(t)
	s := openStore(t, src)
	schedule(t, s, "ns", "u", "p", t0)
	for _, step := range []struct {
		name string
		at   func(call string) bool // the call the child stops at
		dead bool                   // a dead backup's files are there first
	}{
		{"made, not locked", func(c string) bool { return c == "flock" }, false},
		{"writing", func(c string) bool {
			return strings.HasPrefix(c, "unlink ") && strings.HasSuffix(c, "-journal") && exists(strings.TrimPrefix(c, "unlink "))
		}, false},
		{"taking its name", func(c string) bool { return c == "link" }, false},
		{"removing a dead one's files", func(c string) bool { return strings.HasPrefix(c, "unlink ") && strings.Contains(c, "0123456789abcdef") }, true},
	} {
		t.Run(step.name, func(t *testing.T) {
			dir := t.TempDir()
			if !localLocks(t, dir) {
				t.Skip("the test directory's file system is not one whose locks Backup trusts")
			}
			target := filepath.Join(dir, "b.db")
			if step.dead {
				for _, name := range []string{".b.db.partial-0123456789abcdef", ".b.db.partial-0123456789abcdef-journal"} {
					if err := os.WriteFile(filepath.Join(dir, name), []byte("SQLite format 3\x00"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			k := startChild(t, "TestBackupStepChild", envStepChild+"="+src+"\n"+target)
			stopped := false
			res := k.backUpHeld(t, "call ", func(call string) {
				if !stopped && step.at(call) {
					stopped = true
					if err := s.Backup(ctx, target); err != nil {
						t.Errorf("a backup while the other stops at %s: %v", call, err)
					}
				}
			})
			if !stopped {
				t.Fatal("the child never came to the step")
			}
			if !strings.HasPrefix(res, "exists: ") || strings.Contains(res, "partial file") {
				t.Errorf("the child's backup, which this one's ran beside: %s, want ErrBackupExists alone", res)
			}
			left := fileNames(t, dir)
			if !slices.Equal(left, []string{"b.db"}) {
				t.Errorf("the two backups left %q, want b.db alone", left)
			}
		})
	}
}

// TestBackupStepChild is a child of
// TestABackupBesideAnotherAtEachStepRemovesNothingOfIt: it opens the
// database, backs up on the line "go", and says "call" and the call at
// each flock, link and unlink of the backup (an unlink with its file), and
// goes on at the next line; then it says the outcome, with the error of
// ErrBackupExists after "exists: ". Run on its own, it
// skips.
func TestBackupStepChild(t *testing.T) {
	spec := os.Getenv(envStepChild)
	if spec == "" {
		t.Skip("the child process of TestABackupBesideAnotherAtEachStepRemovesNothingOfIt")
	}
	args := strings.Split(spec, "\n")
	held, err := backUpHolding(t, args[0], args[1], []uint32{unix.SYS_FLOCK, unix.SYS_LINKAT, unix.SYS_UNLINKAT, sysUnlink}, nil, func(c heldCall) string {
		switch c.nr {
		case unix.SYS_FLOCK:
			return "call flock"
		case unix.SYS_LINKAT:
			return "call link"
		}
		return "call unlink " + c.unlinked()
	})
	switch {
	case !held:
	case err == nil:
		fmt.Println("result: written")
	case errors.Is(err, sqlite.ErrBackupExists):
		fmt.Println("result: exists: " + strings.ReplaceAll(err.Error(), "\n", " "))
	default:
		fmt.Println("result: " + strings.ReplaceAll(err.Error(), "\n", " "))
	}
}
