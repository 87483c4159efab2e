// Package cputime reads the CPU time the benchmark programs compare:
// their own process's and a PostgreSQL server's.
package cputime

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CheckServer reports an error unless dataDir holds a running
// PostgreSQL server's postmaster.pid: a wrong directory would leave the
// server's CPU time out of every figure without a word.
func CheckServer(dataDir string) error {
	if _, err := os.Stat(dataDir + "/postmaster.pid"); err != nil {
		return fmt.Errorf("-pgdata: no running server's data directory (Linux only): %w", err)
	}
	return nil
}

// Server returns the CPU time used by the PostgreSQL server whose data
// directory is dataDir (its postmaster and the processes it started, as
// Linux's /proc shows them), or 0 when it cannot be read. A process that
// exited is counted in its parent's: the postmaster's children's time,
// which the kernel adds when the postmaster reaps them, so a connection
// or an autovacuum worker that ends during a phase stays counted. It
// counts every process of the server, whoever's work they do: measure on
// a server of the benchmark's own.
func Server(dataDir string) time.Duration {
	if dataDir == "" {
		return 0
	}
	b, err := os.ReadFile(dataDir + "/postmaster.pid")
	if err != nil {
		return 0
	}
	root, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return 0
	}
	ticks := ticksUnder("/proc", root)
	highest.Lock()
	defer highest.Unlock()
	if prev := highest.ticks[dataDir]; ticks < prev {
		ticks = prev // a scan that raced an exit three times running
	}
	highest.ticks[dataDir] = ticks
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ
}

// highest is the largest figure Server has returned for each server: its
// figure never goes back, whatever a scan that races exits misses.
var highest = struct {
	sync.Mutex
	ticks map[string]int64
}{ticks: map[string]int64{}}

// ticksUnder sums, in clock ticks, the CPU time of process root and of
// its children as the proc file system at proc shows them, root's reaped
// children included. The scan is not atomic: a child reaped while it runs
// is counted twice or not at all. So it reads root's reaped children's
// time before and after, and scans again (up to three times) when that
// changed.
func ticksUnder(proc string, root int) int64 {
	var ticks int64
	for range 3 {
		before := reaped(proc, root)
		ticks = scanTicks(proc, root)
		if reaped(proc, root) == before {
			break
		}
	}
	return ticks
}

// scanTicks is one pass of ticksUnder.
func scanTicks(proc string, root int) int64 {
	entries, err := os.ReadDir(proc)
	if err != nil {
		return 0
	}
	var ticks int64
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f := statFields(proc, e.Name())
		if f == nil {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if pid != root && ppid != root {
			continue
		}
		fields := f[11:13] // utime, stime
		if pid == root {
			fields = f[11:15] // and cutime, cstime: the children it reaped
		}
		ticks += sum(fields)
	}
	return ticks
}

// reaped returns the CPU time, in clock ticks, of the children root
// reaped (its cutime and cstime), or -1 when it cannot be read.
func reaped(proc string, root int) int64 {
	f := statFields(proc, strconv.Itoa(root))
	if f == nil {
		return -1
	}
	return sum(f[13:15])
}

// statFields returns the fields of /proc/pid/stat after the command name
// (state, ppid, … utime stime cutime cstime at 11 to 14), or nil.
func statFields(proc, pid string) []string {
	stat, err := os.ReadFile(proc + "/" + pid + "/stat")
	if err != nil {
		return nil
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return nil
	}
	return f
}

// sum adds decimal numbers, skipping what does not parse.
func sum(fields []string) int64 {
	var n int64
	for _, v := range fields {
		x, _ := strconv.ParseInt(v, 10, 64)
		n += x
	}
	return n
}
