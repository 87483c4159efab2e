//go:build linux || darwin

package sqlite

import (
	"os"
	"path/filepath"
	"syscall"
)

// roomOf asks the file system holding path how many bytes it has free
// (for the process: a process of root's may use the blocks reserved for
// root, another may not) and the process for its file size limit.
func roomOf(path string) room {
	var r room
	var st syscall.Statfs_t
	if syscall.Statfs(filepath.Dir(path), &st) == nil {
		r.known, r.free = true, freeBytes(&st, os.Geteuid() == 0)
	}
	var lim syscall.Rlimit
	// Limits from 2^62 bytes up are none (RLIM_INFINITY is 2^64-1 on
	// Linux, 2^63-1 on macOS).
	if syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim) == nil && lim.Cur < 1<<62 {
		r.limited, r.limit = true, uint64(lim.Cur)
	}
	return r
}

// freeBytes is the bytes free on the file system st describes: for a
// process of root's, the blocks reserved for root included.
func freeBytes(st *syscall.Statfs_t, root bool) uint64 {
	blocks := uint64(st.Bavail)
	if root {
		blocks = uint64(st.Bfree)
	}
	return blocks * blockSize(st)
}

var (
	errNoSpace  error = syscall.ENOSPC
	errTooLarge error = syscall.EFBIG
)
