//go:build linux

package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The children of the backup tests that stop a backup at some of its
// calls do so with a seccomp filter on the backup's thread that hands
// those calls to a supervisor in the child itself: the supervisor says a
// line for each call and lets it go on at the next line of the child's
// input.

// unsupported begins the line of a child that cannot hold calls here.
const unsupported = "unsupported: "

// backUpHeld has a child whose backup's calls are held back up on the
// line "go", calls at with the rest of each of its lines that begins with
// prefix (a held call's) and then lets the call go on, and returns the
// child's outcome, the rest of its line "result: ", once it has ended. It
// skips the test where the child cannot hold calls.
func (k backupChild) backUpHeld(t *testing.T, prefix string, at func(call string)) string {
	t.Helper()
	k.say(t, "go")
	for {
		line := k.next(t, "")
		if rest, ok := strings.CutPrefix(line, unsupported); ok {
			t.Skip(rest)
		}
		if res, ok := strings.CutPrefix(line, "result: "); ok {
			k.in.Close()
			k.wait(t)
			return res
		}
		if call, ok := strings.CutPrefix(line, prefix); ok {
			at(call)
			k.say(t, "on")
		}
	}
}

// backUpHolding, in a child of a backup test, opens the database at src,
// and at the line "go" backs it up to target with each call whose number
// is in hold handed to a supervisor that says describe's line for it and
// lets it go on at the next line of the input, and each in refuse failing
// with EPERM; it returns Backup's error. held is false, and the child has
// said why after unsupported, where seccomp cannot hold the calls.
func backUpHolding(t *testing.T, src, target string, hold, refuse []uint32, describe func(heldCall) string) (held bool, err error) {
	t.Helper()
	s := openStore(t, src)
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() {
		t.Fatal("no go")
	}
	runtime.LockOSThread() // the filter is the thread's: Backup runs on it
	listener, err := holdCalls(hold, refuse)
	if err != nil {
		// A kernel without seccomp's user notifications (before 5.0), or
		// a sandbox that refuses filters: the parent skips.
		fmt.Println(unsupported + err.Error())
		return false, nil
	}
	go superviseCalls(listener, in, describe)
	return true, s.Backup(context.Background(), target)
}

// holdCalls installs on the calling thread a seccomp filter that hands
// each call whose number is in hold to a supervisor and fails each in
// refuse with EPERM, and returns the file descriptor on which the
// supervisor receives the calls.
func holdCalls(hold, refuse []uint32) (int, error) {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, err
	}
	const ld, jeq, ret = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_RET | unix.BPF_K
	// The call's number, a test of it for each call, then: allow, EPERM,
	// hand to the supervisor. A jump skips Jt instructions.
	n := len(hold) + len(refuse)
	filter := []unix.SockFilter{{Code: ld, K: 0}}
	for i, nr := range hold {
		filter = append(filter, unix.SockFilter{Code: jeq, Jt: uint8(n + 1 - i), K: nr})
	}
	for i, nr := range refuse {
		filter = append(filter, unix.SockFilter{Code: jeq, Jt: uint8(len(refuse) - i), K: nr})
	}
	filter = append(filter,
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_USER_NOTIF},
	)
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

// heldCall is a call the filter of holdCalls handed to the supervisor.
type heldCall struct {
	nr   int32                    // the call's number
	args [6]uint64                // its arguments
	read func(addr uint64) string // the string at addr in the child's memory
}

// path returns the call's argument arg (from 0) read as a path.
func (c heldCall) path(arg int) string {
	return c.read(c.args[arg])
}

// unlinked returns the path an unlink or unlinkat removes: unlinkat's
// second argument, unlink's first.
func (c heldCall) unlinked() string {
	if c.nr == unix.SYS_UNLINKAT {
		return c.path(1)
	}
	return c.path(0)
}

// superviseCalls says describe's line at each call the filter of
// holdCalls hands it on listener, and lets the call go on at the next
// line of in. Where it cannot, it says "supervisor:" and why, and stops.
func superviseCalls(listener int, in *bufio.Scanner, describe func(heldCall) string) {
	var (
		mem    *os.File // /proc/self/mem, opened at the first path read
		memErr error
	)
	defer func() {
		if mem != nil {
			mem.Close()
		}
	}()
	read := func(addr uint64) string {
		if mem == nil && memErr == nil {
			mem, memErr = os.Open("/proc/self/mem")
		}
		if memErr != nil {
			return ""
		}
		buf := make([]byte, unix.PathMax)
		k, _ := mem.ReadAt(buf, int64(addr))
		name, _, _ := bytes.Cut(buf[:k], []byte{0})
		return string(name)
	}
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
		// instruction pointer, then the arguments.
		c := heldCall{nr: int32(binary.NativeEndian.Uint32(n.data[0:])), read: read}
		for i := range c.args {
			c.args[i] = binary.NativeEndian.Uint64(n.data[16+8*i:])
		}
		line := describe(c)
		if memErr != nil {
			fmt.Println("supervisor:", memErr)
			return
		}
		fmt.Println(line)
		in.Scan()
		r := seccompNotifResp{id: n.id, flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
		unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&r)))
	}
}
