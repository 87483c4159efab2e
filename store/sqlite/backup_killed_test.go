//go:build linux || darwin

package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// TestABackupKilledMidCopyLeavesNothingAtItsPath checks that a backup cut
// short by the end of its process (kill -9 while SQLite writes the copy)
// leaves no file at the backup's path that a restore could take for a
// backup (a partial copy opens as an empty database): the path is free,
// and a later Backup to it writes a whole copy. Whenever the kill lands,
// the path holds either nothing or a whole copy.
func TestABackupKilledMidCopyLeavesNothingAtItsPath(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const users = 20_000
	src := testPath(t)
	s := openStore(t, src)
	for i := range users / 1000 {
		ops := make([]store.Op, 0, 1000)
		for j := range 1000 {
			user := fmt.Sprintf("u%d-%d", i, j)
			ops = append(ops, store.Op{UserID: user, Now: t0, Fn: func(u *store.UserState, _ bool) {
				u.Pending = append(u.Pending, newPending(user, "f", "p", t0.Add(time.Hour)))
			}})
		}
		if err := s.UpdateBatch(context.Background(), "ns", ops); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "b.db")
	k := startBackupChild(t, src, target, 0)
	k.next(t, "ready")
	k.in.Close()
	// Kill the child once a file of the copy has data, wherever it is.
	for written := false; !written; {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && fi.Size() > 0 && !strings.HasSuffix(e.Name(), "-journal") {
				written = true
			}
		}
		time.Sleep(time.Millisecond)
	}
	k.cmd.Process.Kill()
	k.cmd.Wait()

	if _, err := os.Stat(target); err == nil {
		b := openStore(t, target)
		if n, err := b.PendingCount(context.Background(), "ns"); err != nil || n != users {
			t.Fatalf("a backup killed mid-copy left at its path a copy of %d pending deliveries (%v), want none or %d", n, err, users)
		}
		t.Log("the kill came after the copy took its name")
		return
	}
	if err := s.Backup(context.Background(), target); err != nil {
		t.Fatalf("a backup to the path a killed one left: %v", err)
	}
	// On Linux, on a local file system, the backup removed the killed
	// one's partial file and its journal.
	if localLocks(t, dir) {
		for _, name := range fileNames(t, dir) {
			if name != "b.db" {
				t.Errorf("the backup after a killed one left %s", name)
			}
		}
	}
	b := openStore(t, target)
	if n, err := b.PendingCount(context.Background(), "ns"); err != nil || n != users {
		t.Errorf("the copy holds %d pending deliveries (%v), want %d", n, err, users)
	}
}
