package connector

import (
	"context"
	"errors"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// ErrNoServerClock: the store has no clock of its own to compare the
// engine's with ([store.ServerClock]); engines that share such a store
// (the memory store, SQLite) run in one process or on one host, and read
// one clock.
var ErrNoServerClock = errors.New("connector: the store has no clock of its own (store.ServerClock)")

// clockSamples is how many times ClockSkew reads the store's clock; it
// keeps the reading with the shortest round trip.
const clockSamples = 3

// ClockSkew returns how far the engine's clock is ahead of the store's
// server clock (negative when behind), or [ErrNoServerClock]. Engines that
// share a store agree on deliveries' due times and leases only as far as
// their clocks agree; comparing each engine's skew tells how far apart
// their clocks are. Replicas a quarter of the lease apart (15 s with the
// default lease) can send a delivery twice: check it when an engine
// starts, or export it as a metric.
//
// It reads the server's clock three times and keeps the reading with the
// shortest round trip, taking the server's time as read halfway through
// it: the result is within half that round trip of the truth (typically
// well under a millisecond on a local network). A reading during which
// the engine's clock went back is not kept; if every one is such, it
// returns an error.
func (e *Engine) ClockSkew(ctx context.Context) (time.Duration, error) {
	if ctx == nil {
		return 0, errNilContext("ClockSkew")
	}
	sc, ok := e.store.(store.ServerClock)
	if !ok {
		return 0, ErrNoServerClock
	}
	var skew time.Duration
	best := time.Duration(-1) // none kept yet
	for range clockSamples {
		before := e.cfg.clock.Now()
		server, err := sc.ServerNow(ctx)
		if err != nil {
			return 0, err
		}
		after := e.cfg.clock.Now()
		// A negative round trip means the engine's clock went back during
		// the reading (a clock set by hand, or one without a monotonic
		// reading that NTP steps): its midpoint says nothing of the skew,
		// and the reading is not kept.
		if rtt := after.Sub(before); rtt >= 0 && (best < 0 || rtt < best) {
			best, skew = rtt, before.Add(rtt/2).Sub(server)
		}
	}
	if best < 0 {
		return 0, errClockWentBack
	}
	return skew, nil
}

// errClockWentBack is ClockSkew's error when the engine's clock went back
// during every reading of the server's.
var errClockWentBack = errors.New("connector: clock skew: the engine's clock went back during every reading of the server's")
