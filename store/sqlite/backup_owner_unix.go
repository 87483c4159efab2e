//go:build unix

package sqlite

import (
	"io/fs"
	"os"
	"syscall"
)

// sameOwner gives the file at path the group, then the owner, of the file
// of fi, each as far as the operating system lets the process: a process
// not privileged may give a file only a group it belongs to, and no other
// owner. What it may not give, the file keeps.
func sameOwner(path string, fi fs.FileInfo) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	os.Lchown(path, -1, int(st.Gid))
	os.Lchown(path, int(st.Uid), -1)
}
