package main

import (
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// simClock is the simulation's clock: it shows the instant the simulation
// last set, read by the engine and the dashboard from any goroutine.
// Unlike clock.Mock, setting it does not pause to let timers run: the
// simulation sets it some ten thousand times for a week of history, and
// it ticks the engine itself, so the engine's Run and its timers are not
// used (Timer hands out timers of a mock clock that never moves).
type simClock struct {
	nanos  atomic.Int64
	timers *clock.Mock
}

func newSimClock(at time.Time) *simClock {
	c := &simClock{timers: clock.NewMock()}
	c.Set(at)
	return c
}

// Now implements connector.Clock.
func (c *simClock) Now() time.Time { return time.Unix(0, c.nanos.Load()).UTC() }

// Timer implements connector.Clock.
func (c *simClock) Timer(d time.Duration) *clock.Timer { return c.timers.Timer(d) }

// Set moves the clock to t.
func (c *simClock) Set(t time.Time) { c.nanos.Store(t.UnixNano()) }
