//go:build linux

package sqlite_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// envHeldChild names, in a TestBackupHeldChild process, the database to
// back up and the backup's path, a line each, then "nolink" where the
// child's file system is to refuse hard links.
const envHeldChild = "CCBK_HELD_CHILD"

// TestBackupsToOneEmptyFileOneReplacesIt checks that of two processes'
// backups to one path where an empty file is (made by the host), one
// replaces the file and the other fails with ErrBackupExists, rather than
// both replace it in turn and report success: the first backup's copy,
// of another database, would be gone while its Backup returned nil. Each
// child stops at its rename until the parent lets it go on (a seccomp
// filter that hands the call to the child's own supervisor), so that the
// second child looks at the path while the first is about to rename.
func TestBackupsToOneEmptyFileOneReplacesIt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx := context.Background()
	srcs := make([]string, 2)
	for i := range srcs {
		srcs[i] = testPath(t)
		s := openStore(t, srcs[i])
		for j := range i + 1 {
			schedule(t, s, "ns", fmt.Sprintf("u%d", j), "p", t0.Add(time.Hour))
		}
	}
	target := filepath.Join(t.TempDir(), "b.db")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	first := startHeldChild(t, srcs[0], target, false)
	second := startHeldChild(t, srcs[1], target, false)
	first.say(t, "go")
	if line := first.line(t); strings.HasPrefix(line, unsupported) {
		t.Skip(line)
	} else if line != "renaming" {
		t.Fatalf("the first backup: %s, want it at its rename", line)
	}
	second.say(t, "go")
	line := second.line(t)
	first.say(t, "rename")
	results := []string{first.line(t), line}
	if line == "renaming" {
		second.say(t, "rename")
		results[1] = second.line(t)
	}
	second.in.Close()
	first.in.Close()
	first.cmd.Wait()
	second.cmd.Wait()
	if results[0] != "result: written" || results[1] != "result: exists" {
		t.Fatalf("two backups to one empty file: %q and %q, want the first written and the second ErrBackupExists", results[0], results[1])
	}
	b := openStore(t, target)
	if n, err := b.PendingCount(ctx, "ns"); err != nil || n != 1 {
		t.Errorf("the backup holds %d pending deliveries (%v), want the first's 1", n, err)
	}
}

// TestABackupWhereHardLinksAreRefused checks that where the file system
// refuses hard links (FAT), a backup takes its name by a rename: to a new
// path, and over an empty file, which it keeps the mode of, leaving no
// partial file behind.
func TestABackupWhereHardLinksAreRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	src := testPath(t)
	schedule(t, openStore(t, src), "ns", "u", "p", t0.Add(time.Hour))
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{filepath.Join(dir, "new.db"), empty} {
		k := startHeldChild(t, src, target, true)
		k.say(t, "go")
		line := k.line(t)
		if strings.HasPrefix(line, unsupported) {
			t.Skip(line)
		}
		if line == "renaming" {
			k.say(t, "rename")
			line = k.line(t)
		}
		if line != "result: written" {
			t.Fatalf("a backup to %s without hard links: %s", target, line)
		}
		k.in.Close()
		k.cmd.Wait()
	}
	if fi, err := os.Stat(empty); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the backup over an empty file of mode 0600: %v (%v)", fi.Mode(), err)
	}
	for _, name := range fileNames(t, dir) {
		if name != "new.db" && name != "empty.db" {
			t.Errorf("a backup without hard links left %s", name)
		}
	}
	for _, path := range []string{filepath.Join(dir, "new.db"), empty} {
		if n, err := openStore(t, path).PendingCount(context.Background(), "ns"); err != nil || n != 1 {
			t.Errorf("%s holds %d pending deliveries (%v), want 1", path, n, err)
		}
	}
}

// TestBackupHeldChild is a child of TestBackupsToOneEmptyFileOneReplacesIt:
// it opens the database, backs up on the line "go", and says "renaming"
// when the backup is about to rename a file and goes on at the line
// "rename"; then it says the outcome. Run on its own, it skips.
func TestBackupHeldChild(t *testing.T) {
	spec := os.Getenv(envHeldChild)
	if spec == "" {
		t.Skip("the child process of TestBackupsToOneEmptyFileOneReplacesIt")
	}
	args := strings.Split(spec, "\n")
	var refuse []uint32
	if len(args) > 2 && args[2] == "nolink" {
		refuse = []uint32{unix.SYS_LINKAT} // as FAT does
	}
	renames := []uint32{unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2, sysRename}
	if held, err := backUpHolding(t, args[0], args[1], renames, refuse, func(heldCall) string { return "renaming" }); held {
		sayResult(err)
	}
}

// startHeldChild starts a TestBackupHeldChild process backing up src to
// target, on a file system without hard links with noLink.
func startHeldChild(t *testing.T, src, target string, noLink bool) backupChild {
	t.Helper()
	spec := src + "\n" + target
	if noLink {
		spec += "\nnolink"
	}
	return startChild(t, "TestBackupHeldChild", envHeldChild+"="+spec)
}

// say writes line to the child.
func (k backupChild) say(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(k.in, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// line returns the child's next line that says where it is: "renaming",
// or its outcome.
func (k backupChild) line(t *testing.T) string {
	t.Helper()
	for k.lines.Scan() {
		if l := k.lines.Text(); l == "renaming" || strings.HasPrefix(l, "result: ") || strings.HasPrefix(l, "supervisor:") {
			return l
		}
	}
	t.Fatalf("a child ended (%v)", k.lines.Err())
	return ""
}
