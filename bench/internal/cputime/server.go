// Package cputime reads the CPU time the benchmark programs compare:
// their own process's and a PostgreSQL server's.
package cputime

import (
	"fmt"
	"os"
	"strconv"
	"strings"
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
// which the kernel adds when the postmaster reaps them, so the figure
// never goes back when a connection or an autovacuum worker ends during a
// phase. It counts every process of the server, whoever's work they do:
// measure on a server of the benchmark's own.
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
	return time.Duration(ticksUnder("/proc", root)) * (time.Second / 100) // USER_HZ
}

// ticksUnder sums, in clock ticks, the CPU time of process root and of
// its children as the proc file system at proc shows them, root's reaped
// children included.
func ticksUnder(proc string, root int) int64 {
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
		stat, err := os.ReadFile(proc + "/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime stime: fields after the comm.
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 15 {
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
		for _, v := range fields {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	return ticks
}
