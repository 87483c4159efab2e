//go:build !unix

package main

import "time"

// cpuTime is zero where the process's CPU time is not read: the
// per-CPU-second metrics are then infinite, and their ratios meaningless.
func cpuTime() time.Duration { return 0 }
