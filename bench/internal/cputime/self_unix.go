//go:build unix

package cputime

import (
	"syscall"
	"time"
)

// Self returns the CPU time this process has used (user and system,
// every thread: the collector's and the timers' included).
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
