package connector

import "github.com/benbjohnson/clock"

// SystemClock returns the clock engines use unless [WithClock] sets
// another: clock.New() from github.com/benbjohnson/clock, which reads
// time.Now and makes its timers with the time package. A step of the
// system's wall clock reaches the engine at its next reading.
func SystemClock() Clock { return clock.New() }
