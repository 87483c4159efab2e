package main

import (
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

func itoa(n int) string { return strconv.Itoa(n) }

// workloadUsers is BENCH_USERS, 1,000,000 by default.
func workloadUsers() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_USERS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// stepClock is the workload's clock: the time is set by the benchmark
// (like clock.Mock's) and read without a lock, so that the engine's send
// workers do not queue on the mock's mutex, which a real clock does not
// have. Its timers are the mock's; the workload does not use them.
type stepClock struct {
	ns   atomic.Int64
	mock *clock.Mock
}

func newStepClock(t time.Time) *stepClock {
	c := &stepClock{mock: clock.NewMock()}
	c.set(t)
	return c
}

func (c *stepClock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

func (c *stepClock) Timer(d time.Duration) *clock.Timer { return c.mock.Timer(d) }

func (c *stepClock) set(t time.Time) {
	c.ns.Store(t.UnixNano())
	c.mock.Set(t)
}

func (c *stepClock) add(d time.Duration) { c.set(c.Now().Add(d)) }
