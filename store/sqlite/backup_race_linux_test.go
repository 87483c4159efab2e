//go:build linux

package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

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
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "new.db" && e.Name() != "empty.db" {
			t.Errorf("a backup without hard links left %s", e.Name())
		}
	}
	for _, path := range []string{filepath.Join(dir, "new.db"), empty} {
		if n, err := openStore(t, path).PendingCount(context.Background(), "ns"); err != nil || n != 1 {
			t.Errorf("%s holds %d pending deliveries (%v), want 1", path, n, err)
		}
	}
}

// unsupported begins the line of a TestBackupHeldChild that cannot hold
// its renames here.
const unsupported = "unsupported: "

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
	s := openStore(t, args[0])
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() {
		t.Fatal("no go")
	}
	runtime.LockOSThread() // the filter is the thread's: Backup runs on it
	listener, err := holdRenames(len(args) > 2 && args[2] == "nolink")
	if err != nil {
		// A kernel without seccomp's user notifications (before 5.0), or
		// a sandbox that refuses filters: the parent skips.
		fmt.Println(unsupported + err.Error())
		return
	}
	go superviseRenames(listener, in)
	sayResult(s.Backup(context.Background(), args[1]))
}

// holdRenames installs on the calling thread a seccomp filter that hands
// each rename to a supervisor, and returns the file descriptor on which
// the supervisor receives them. With noLink, the filter also refuses
// each hard link (EPERM), as FAT does.
func holdRenames(noLink bool) (int, error) {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, err
	}
	const ld, jeq, ret = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_RET | unix.BPF_K
	filter := []unix.SockFilter{
		{Code: ld, K: 0}, // the call's number
		{Code: jeq, Jt: 5, K: unix.SYS_RENAMEAT},
		{Code: jeq, Jt: 4, K: unix.SYS_RENAMEAT2},
		{Code: jeq, Jt: 3, K: sysRename},
		{Code: jeq, Jt: 1, K: unix.SYS_LINKAT},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW}, // a link, with noLink: EPERM
		{Code: ret, K: unix.SECCOMP_RET_USER_NOTIF},
	}
	if noLink {
		filter[6].K = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// seccompNotif and seccompNotifResp are the kernel's struct seccomp_notif
// and struct seccomp_notif_resp.
type (
	seccompNotif struct {
		id    uint64
		pid   uint32
		flags uint32
		data  [64]byte
	}
	seccompNotifResp struct {
		id    uint64
		val   int64
		error int32
		flags uint32
	}
)

// superviseRenames says "renaming" at each rename the filter of
// holdRenames hands it, and lets the call go on at the next line of in.
func superviseRenames(listener int, in *bufio.Scanner) {
	for {
		var n seccompNotif
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n))); errno != 0 {
			if errno == unix.EINTR {
				continue
			}
			fmt.Println("supervisor:", errno)
			return
		}
		fmt.Println("renaming")
		in.Scan()
		r := seccompNotifResp{id: n.id, flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
		unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&r)))
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
