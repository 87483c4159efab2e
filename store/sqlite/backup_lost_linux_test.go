//go:build linux

package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

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
			k.say(t, "go")
			var res string
			for {
				line := k.next(t, "")
				if rest, ok := strings.CutPrefix(line, unsupported); ok {
					t.Skip(rest)
				}
				if r, ok := strings.CutPrefix(line, "result: "); ok {
					res = r
					break
				}
				removed, ok := strings.CutPrefix(line, "unlinking ")
				if !ok {
					continue
				}
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
				k.say(t, "unlink")
			}
			k.in.Close()
			k.wait(t)
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
	s := openStore(t, args[0])
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() {
		t.Fatal("no go")
	}
	runtime.LockOSThread() // the filter is the thread's: Backup runs on it
	listener, err := holdUnlinks()
	if err != nil {
		fmt.Println(unsupported + err.Error())
		return
	}
	go superviseUnlinks(listener, in)
	err = s.Backup(context.Background(), args[1])
	if err == nil {
		fmt.Println("result: written")
		return
	}
	var e *sqlite.Error
	fmt.Printf("result: %s (notexist=%t sqlite=%t)\n", strings.ReplaceAll(err.Error(), "\n", " "),
		errors.Is(err, fs.ErrNotExist), errors.As(err, &e))
}

// holdUnlinks installs on the calling thread a seccomp filter that hands
// each unlink to a supervisor, and returns the file descriptor on which
// the supervisor receives them.
func holdUnlinks() (int, error) {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, err
	}
	const ld, jeq, ret = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_RET | unix.BPF_K
	filter := []unix.SockFilter{
		{Code: ld, K: 0}, // the call's number
		{Code: jeq, Jt: 2, K: unix.SYS_UNLINKAT},
		{Code: jeq, Jt: 1, K: sysUnlink},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		{Code: ret, K: unix.SECCOMP_RET_USER_NOTIF},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// superviseUnlinks says "unlinking" and the file at each unlink the
// filter of holdUnlinks hands it, and lets the call go on at the next line
// of in.
func superviseUnlinks(listener int, in *bufio.Scanner) {
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		fmt.Println("supervisor:", err)
		return
	}
	defer mem.Close()
	for {
		var n seccompNotif
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n))); errno != 0 {
			if errno == unix.EINTR {
				continue
			}
			fmt.Println("supervisor:", errno)
			return
		}
		// struct seccomp_data: the call's number, the architecture, the
		// instruction pointer, then the arguments; unlinkat's path is its
		// second, unlink's its first.
		arg := 0
		if int32(binary.NativeEndian.Uint32(n.data[0:])) == unix.SYS_UNLINKAT {
			arg = 1
		}
		addr := binary.NativeEndian.Uint64(n.data[16+8*arg:])
		buf := make([]byte, unix.PathMax)
		k, _ := mem.ReadAt(buf, int64(addr))
		name, _, _ := bytes.Cut(buf[:k], []byte{0})
		fmt.Printf("unlinking %s\n", name)
		in.Scan()
		r := seccompNotifResp{id: n.id, flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
		unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&r)))
	}
}
