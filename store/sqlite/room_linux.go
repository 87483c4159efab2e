package sqlite

import "syscall"

// blockSize is the unit of st's block counts: on Linux the fragment size
// (f_frsize), which file systems such as FUSE ones report apart from
// f_bsize, the size of a transfer; a kernel before 2.6 sends none.
func blockSize(st *syscall.Statfs_t) uint64 {
	if st.Frsize > 0 {
		return uint64(st.Frsize)
	}
	return uint64(st.Bsize)
}
