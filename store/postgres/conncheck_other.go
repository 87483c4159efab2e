//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package postgres

import "net"

// peek cannot look at a socket on this system: connections are checked
// by their idle time only.
func peek(net.Conn) bool { return false }
