//go:build linux && amd64

package sqlite_test

import "golang.org/x/sys/unix"

// sysRename is the number of rename(2), which amd64 has beside renameat.
const sysRename = unix.SYS_RENAME

// sysUnlink is the number of unlink(2), which amd64 has beside unlinkat.
const sysUnlink = unix.SYS_UNLINK
