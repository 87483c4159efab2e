package cputime

import (
	"os"
	"path/filepath"
	"testing"
)

// A server's CPU time counts the postmaster, its live children and, by
// way of the postmaster's children's time, those that exited; other
// processes are left out.
func TestTicksUnderCountsExitedChildren(t *testing.T) {
	proc := t.TempDir()
	stat := func(pid, line string) {
		t.Helper()
		dir := filepath.Join(proc, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
	stat("100", "100 (postgres) S 1 100 100 0 -1 0 0 0 0 0 5 6 700 800 20 0 1 0")
	stat("101", "101 (postgres: a (b) c) S 100 100 100 0 -1 0 0 0 0 0 30 40 9000 9000 20 0 1 0")
	stat("102", "102 (other) S 1 102 102 0 -1 0 0 0 0 0 1000 1000 0 0 20 0 1 0")
	stat("self", "not a pid")
	if got, want := ticksUnder(proc, 100), int64(5+6+700+800+30+40); got != want {
		t.Errorf("ticks = %d, want %d", got, want)
	}
	if got := ticksUnder(filepath.Join(proc, "missing"), 100); got != 0 {
		t.Errorf("ticks without a proc directory = %d, want 0", got)
	}
}
