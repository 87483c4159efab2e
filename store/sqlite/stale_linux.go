package sqlite

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// zfsSuperMagic is the type ZFS on Linux reports, which x/sys names not.
const zfsSuperMagic = 0x2fc12fc1

// locksAreLocal reports whether the file system holding dir is one whose
// flock(2) locks the kernel keeps, apart from the fcntl(2) locks SQLite
// takes: a local disk's or memory's. Network and FUSE file systems are
// not, nor any this does not know.
func locksAreLocal(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return false
	}
	switch uint32(st.Type) {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.TMPFS_MAGIC,
		unix.F2FS_SUPER_MAGIC, zfsSuperMagic:
		return true
	}
	return false
}

// otherLocks reports whether another process holds an fcntl(2) lock on
// the file f (or the check failed): SQLite's, while a backup of a process
// writes the copy, or a flock(2) a network file system's server keeps as
// such a lock. The process's own do not count.
func otherLocks(f *os.File) bool {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
		return true
	}
	return lk.Type != unix.F_UNLCK
}
