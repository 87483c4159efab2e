//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package postgres

import (
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHasInputLooksWithoutReading checks the socket check on both ends of
// a socket pair (where a write reaches the other end before it returns):
// an idle socket has no input; one the peer wrote to or closed has, and
// the check leaves what was written to be read.
func TestHasInputLooksWithoutReading(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	conn := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	ours, peer := conn(fds[0]), conn(fds[1])

	require.False(t, hasInput(ours), "idle")
	_, err = peer.Write([]byte("E"))
	require.NoError(t, err)
	require.True(t, hasInput(ours), "the peer wrote")
	require.True(t, hasInput(ours), "still there")
	buf := make([]byte, 2)
	n, err := ours.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "E", string(buf[:n]), "the check read nothing")
	require.False(t, hasInput(ours), "read")
	require.NoError(t, peer.Close())
	require.True(t, hasInput(ours), "the peer closed")
}
