package sqlite

import "syscall"

// blockSize is the unit of st's block counts: on macOS the file system's
// fundamental block size (f_bsize; f_iosize is the size of a transfer).
func blockSize(st *syscall.Statfs_t) uint64 { return uint64(st.Bsize) }
