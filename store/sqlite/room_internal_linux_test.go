package sqlite

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// Linux counts a file system's blocks in fragments (f_frsize), which some
// file systems report apart from the transfer size f_bsize: the bytes
// free are the fragments times their size.
func TestFreeBytesCountsFragments(t *testing.T) {
	st := syscall.Statfs_t{Bsize: 128 << 10, Frsize: 4 << 10, Bavail: 10, Bfree: 12}
	require.EqualValues(t, 10*4<<10, freeBytes(&st, false))
	require.EqualValues(t, 12*4<<10, freeBytes(&st, true), "root may use the reserved blocks")
	st.Frsize = 0 // none reported: blocks of Bsize
	require.EqualValues(t, 10*128<<10, freeBytes(&st, false))
}
