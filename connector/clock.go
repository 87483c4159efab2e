package connector

import "github.com/benbjohnson/clock"

// SystemClock returns clock.New() from github.com/benbjohnson/clock, the
// engine's default clock: it reads time.Now and makes its timers with the
// time package.
//
// Deprecated: pass clock.New() to [WithClock], or no clock at all: it is
// the default. SystemClock adds nothing to it, and the name belongs to
// webhook.SystemClock, the parsers' clock type.
func SystemClock() Clock { return clock.New() }
