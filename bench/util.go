package main

import (
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
)

func itoa(n int) string { return strconv.Itoa(n) }

// workloadUsers is BENCH_USERS, 1,000,000 by default.
func workloadUsers() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_USERS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// stepClock is the workloads' clock: the engine's default clock
// (clock.New()) shifted by an offset the benchmark moves (set,
// add), so that reading it costs what reading the default clock costs (the
// engine reads it once per tracked event, twice per delivery), and read
// without a lock, so that the engine's send slots do not queue on
// clock.Mock's mutex, which a real clock does not have. Its timers are the
// mock's; the workloads do not use them.
type stepClock struct {
	sys  connector.Clock
	off  atomic.Int64 // ns added to sys
	mock *clock.Mock
}

func newStepClock(t time.Time) *stepClock {
	c := &stepClock{sys: clock.New(), mock: clock.NewMock()}
	c.set(t)
	return c
}

func (c *stepClock) Now() time.Time { return c.sys.Now().Add(time.Duration(c.off.Load())) }

func (c *stepClock) Timer(d time.Duration) *clock.Timer { return c.mock.Timer(d) }

func (c *stepClock) set(t time.Time) {
	c.off.Store(int64(t.Sub(c.sys.Now())))
	c.mock.Set(t)
}

// add moves the clock d ahead (the mock's timers do not follow: unused).
func (c *stepClock) add(d time.Duration) { c.off.Add(int64(d)) }
