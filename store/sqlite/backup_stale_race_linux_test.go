//go:build linux

package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

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
			k.say(t, "go")
			stopped := false
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
				call, ok := strings.CutPrefix(line, "call ")
				if !ok {
					continue
				}
				if !stopped && step.at(call) {
					stopped = true
					if err := s.Backup(ctx, target); err != nil {
						t.Errorf("a backup while the other stops at %s: %v", call, err)
					}
				}
				k.say(t, "on")
			}
			k.in.Close()
			k.wait(t)
			if !stopped {
				t.Fatal("the child never came to the step")
			}
			if !strings.HasPrefix(res, "exists: ") || strings.Contains(res, "partial file") {
				t.Errorf("the child's backup, which this one's ran beside: %s, want ErrBackupExists alone", res)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, e := range entries {
				left = append(left, e.Name())
			}
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
	s := openStore(t, args[0])
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() {
		t.Fatal("no go")
	}
	runtime.LockOSThread() // the filter is the thread's: Backup runs on it
	listener, err := holdSteps()
	if err != nil {
		fmt.Println(unsupported + err.Error())
		return
	}
	go superviseSteps(listener, in)
	err = s.Backup(context.Background(), args[1])
	switch {
	case err == nil:
		fmt.Println("result: written")
	case errors.Is(err, sqlite.ErrBackupExists):
		fmt.Println("result: exists: " + strings.ReplaceAll(err.Error(), "\n", " "))
	default:
		fmt.Println("result: " + strings.ReplaceAll(err.Error(), "\n", " "))
	}
}

// holdSteps installs on the calling thread a seccomp filter that hands
// each flock, link and unlink to a supervisor, and returns the file
// descriptor on which the supervisor receives them.
func holdSteps() (int, error) {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, err
	}
	const ld, jeq, ret = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_RET | unix.BPF_K
	filter := []unix.SockFilter{
		{Code: ld, K: 0}, // the call's number
		{Code: jeq, Jt: 4, K: unix.SYS_FLOCK},
		{Code: jeq, Jt: 3, K: unix.SYS_LINKAT},
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

// superviseSteps says "call" and the call at each call the filter of
// holdSteps hands it, and lets the call go on at the next line of in.
func superviseSteps(listener int, in *bufio.Scanner) {
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
		call := ""
		switch nr := int32(binary.NativeEndian.Uint32(n.data[0:])); nr {
		case unix.SYS_FLOCK:
			call = "flock"
		case unix.SYS_LINKAT:
			call = "link"
		default:
			arg := 0
			if nr == unix.SYS_UNLINKAT {
				arg = 1
			}
			addr := binary.NativeEndian.Uint64(n.data[16+8*arg:])
			buf := make([]byte, unix.PathMax)
			k, _ := mem.ReadAt(buf, int64(addr))
			name, _, _ := bytes.Cut(buf[:k], []byte{0})
			call = "unlink " + string(name)
		}
		fmt.Println("call " + call)
		in.Scan()
		r := seccompNotifResp{id: n.id, flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
		unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&r)))
	}
}
