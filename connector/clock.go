package connector

import (
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// SystemClock returns the clock engines use unless [WithClock] sets
// another: the system's wall-clock time, read as an offset on the
// monotonic clock from a base that is read afresh every second. A reading
// costs one clock read instead of time.Now's two (wall and monotonic),
// which is most of what the engine pays for a tracked event's timestamp;
// in exchange a step of the system's wall clock (a manual change, a
// resumed virtual machine) reaches the engine up to a second late. Its
// timers are clock.New()'s. Safe for concurrent use.
func SystemClock() Clock {
	c := &systemClock{timers: clock.New()}
	now := time.Now()
	c.base.Store(&now)
	return c
}

// rebaseAfter is how old a systemClock's base may get.
const rebaseAfter = time.Second

type systemClock struct {
	base   atomic.Pointer[time.Time] // a time.Now() reading, with its monotonic part
	timers clock.Clock
}

// Now implements [Clock].
func (c *systemClock) Now() time.Time {
	b := c.base.Load()
	if d := time.Since(*b); d < rebaseAfter {
		return b.Add(d)
	}
	now := time.Now()
	c.base.Store(&now)
	return now
}

// Timer implements [Clock].
func (c *systemClock) Timer(d time.Duration) *clock.Timer { return c.timers.Timer(d) }
