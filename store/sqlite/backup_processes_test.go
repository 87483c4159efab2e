//go:build linux || darwin

package sqlite_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// envBackupChild names, in a child of the backup tests, the database to
// back up, the backup's path and the process's file size limit (0: the
// one it has), a line each.
const envBackupChild = "CCBK_CHILD"

// TestBackupsOfProcessesToOnePath checks that of backups to one path by
// several processes at once, one writes it and the others are refused
// with ErrBackupExists, as within a process, rather than failing with
// SQLite's error of the file they collide with, and that they write
// nothing: the copy is whole and alone in its directory. The children
// open the database, say so, and back up when the parent closes their
// standard input, all at once.
func TestBackupsOfProcessesToOnePath(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const users, children = 1000, 4
	src := testPath(t)
	s := openStore(t, src)
	for i := range users {
		schedule(t, s, "ns", fmt.Sprintf("u%d", i), fmt.Sprintf("p%d", i), t0.Add(time.Hour))
	}
	target := filepath.Join(t.TempDir(), "b.db")
	kids := make([]backupChild, children)
	for i := range kids {
		kids[i] = startBackupChild(t, src, target, 0)
	}
	for _, k := range kids {
		k.next(t, "ready")
	}
	for _, k := range kids {
		k.in.Close()
	}
	written := 0
	for _, k := range kids {
		switch res := k.next(t, "result: "); res {
		case "written":
			written++
		case "exists":
		default:
			t.Errorf("a backup beside another process's to the same path: %s, want ErrBackupExists", res)
		}
		k.wait(t)
	}
	if written != 1 {
		t.Fatalf("%d backups to one path written, want 1", written)
	}
	entries, err := os.ReadDir(filepath.Dir(target))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != filepath.Base(target) {
			t.Errorf("a backup left %s", e.Name())
		}
	}
	b := openStore(t, target)
	if n, err := b.PendingCount(context.Background(), "ns"); err != nil || n != users {
		t.Errorf("the copy holds %d pending deliveries (%v), want %d", n, err, users)
	}
}

// TestBackupChild is a child of the backup tests: it opens the database,
// says "ready", backs up when its standard input closes and says the
// outcome. Run on its own, it skips.
func TestBackupChild(t *testing.T) {
	spec := os.Getenv(envBackupChild)
	if spec == "" {
		t.Skip("the child process of the backup tests")
	}
	args := strings.Split(spec, "\n")
	s := openStore(t, args[0])
	if limit, _ := strconv.ParseInt(args[2], 10, 64); limit > 0 {
		signal.Ignore(syscall.SIGXFSZ) // a write past the limit fails rather than kill the process
		limitFileSize(t, limit)
	}
	fmt.Println("ready")
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		t.Fatal(err)
	}
	sayResult(s.Backup(context.Background(), args[1]))
}

// sayResult writes, in a child of the backup tests, the outcome of its
// Backup on a line: "result: written", "result: exists" (ErrBackupExists)
// or "result: " and the error.
func sayResult(err error) {
	switch {
	case err == nil:
		fmt.Println("result: written")
	case errors.Is(err, sqlite.ErrBackupExists):
		fmt.Println("result: exists")
	default:
		fmt.Println("result: " + strings.ReplaceAll(err.Error(), "\n", " "))
	}
}

// TestBackupSyncsItsDirectory checks that Backup syncs the directory it
// creates the file in once the file is written, so that a power loss
// after it returned cannot lose the file's name, nor bring back the
// journal SQLite wrote beside it and removed (which would undo the copy):
// the child runs under strace, which shows each fsync with the file it
// syncs.
func TestBackupSyncsItsDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("no strace here")
	}
	if out, err := exec.Command(strace, "-f", "-o", os.DevNull, "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here: %v: %s", err, out)
	}
	src := testPath(t)
	s := openStore(t, src)
	schedule(t, s, "ns", "u", "p", t0.Add(time.Hour))
	dir := t.TempDir()
	trace := filepath.Join(t.TempDir(), "trace")
	k := startBackupChild(t, src, filepath.Join(dir, "b.db"), 0, strace, "-f", "-y", "-e", "trace=fsync,unlink,unlinkat", "-o", trace)
	k.next(t, "ready")
	k.in.Close()
	if res := k.next(t, "result: "); res != "written" {
		t.Fatalf("the backup: %s", res)
	}
	k.wait(t)
	out, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	// The last change in the directory (a file synced, SQLite's journal
	// removed) comes before a sync of the directory.
	lastChange, lastSync := -1, -1
	for i, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.Contains(line, "fsync(") && strings.Contains(line, "<"+dir+">"):
			lastSync = i
		case strings.Contains(line, dir+"/"):
			lastChange = i
		}
	}
	if lastChange < 0 || lastSync < lastChange {
		t.Errorf("no fsync of %s after the backup's last change in it:\n%s", dir, out)
	}
}

// TestAFailedBackupLeavesNoFile checks that a backup that fails in the
// middle of the copy (the process's file size limit stops it) leaves
// nothing behind: no file at its path, no partial file, and the empty file
// it found there as it was.
func TestAFailedBackupLeavesNoFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	src := testPath(t)
	s := openStore(t, src)
	for i := range 1000 {
		schedule(t, s, "ns", fmt.Sprintf("u%d", i), fmt.Sprintf("p%d", i), t0.Add(time.Hour))
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{filepath.Join(dir, "new.db"), empty} {
		k := startBackupChild(t, src, target, 64<<10)
		k.next(t, "ready")
		k.in.Close()
		if res := k.next(t, "result: "); res == "written" || res == "exists" {
			t.Fatalf("%s: a backup past the file size limit: %s, want it to fail", target, res)
		}
		k.wait(t)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if e.Name() != "empty.db" || err != nil || fi.Size() != 0 {
			t.Errorf("a failed backup left %s (%v)", e.Name(), err)
		}
	}
}

// backupChild is a TestBackupChild process.
type backupChild struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines *bufio.Scanner
}

// startBackupChild starts a TestBackupChild process backing up src to
// target, with its file size limit at limit bytes (0: unchanged), under
// the command tracer when there is one.
func startBackupChild(t *testing.T, src, target string, limit int64, tracer ...string) backupChild {
	t.Helper()
	return startChild(t, "TestBackupChild", envBackupChild+"="+src+"\n"+target+"\n"+strconv.FormatInt(limit, 10), tracer...)
}

// startChild starts the test binary as a child running only the test
// named test, with env added to its environment, under the command tracer
// when there is one.
func startChild(t *testing.T, test, env string, tracer ...string) backupChild {
	t.Helper()
	args := append(tracer, os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return backupChild{cmd, in, bufio.NewScanner(out)}
}

// next returns the rest of the child's next line that begins with prefix.
func (k backupChild) next(t *testing.T, prefix string) string {
	t.Helper()
	for k.lines.Scan() {
		if line, ok := strings.CutPrefix(k.lines.Text(), prefix); ok {
			return line
		}
	}
	t.Fatalf("a child ended without saying %q (%v)", prefix, k.lines.Err())
	return ""
}

// wait reads the child's output to its end and waits for it to exit.
func (k backupChild) wait(t *testing.T) {
	t.Helper()
	for k.lines.Scan() {
	}
	if err := k.cmd.Wait(); err != nil {
		t.Errorf("a child: %v", err)
	}
}
