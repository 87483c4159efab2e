//go:build linux && !amd64

package sqlite_test

import "golang.org/x/sys/unix"

// sysRename is renameat's number where there is no rename(2).
const sysRename = unix.SYS_RENAMEAT

// sysUnlink is unlinkat's number where there is no unlink(2).
const sysUnlink = unix.SYS_UNLINKAT
