//go:build !unix

package store

import "time"

// cpuTime is zero where the process's CPU time is not read: the
// benchmarks' cpu-ns metrics are then zero.
func cpuTime() time.Duration { return 0 }
