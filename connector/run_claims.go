package connector

import (
	"fmt"
	"sync"
	"time"
)

// claimStreak counts Run's Ticks in a row whose claims all came to
// nothing: each confirmation found its delivery gone, or leased to
// another claim, and skipped it. One such Tick is no fault (a stop or an
// exception removed the deliveries between the claim and the
// confirmation; another engine, whose clock runs ahead, took their
// leases), and delays nothing. Several in a row are a store whose Claim
// hands out deliveries it did not lease to the claim (a custom
// store.Store that does not save the token, or returns deliveries no
// user's state holds, while NextDue says they are due): claiming again
// at once would be a tight loop that sends nothing. Run then waits before
// each Tick, longer each time, up to a minute, and says so at Error once
// per streak. A Tick whose claims come to something (one confirmed,
// deferred, given back…) ends the streak.
type claimStreak struct {
	mu     sync.Mutex
	ticks  int   // Ticks in a row whose claims came to nothing
	claims int64 // the deliveries they claimed
	told   bool  // the streak was logged
}

// Run waits before a Tick once streakPause Ticks in a row came to nothing,
// and logs it once streakLog did.
const (
	streakPause = 2
	streakLog   = 5
)

// claimRetry paces Run's Ticks during a streak: as storeRetry, but up to
// runMaxSleep, since a store that hands out unleased claims is not one
// that comes back on its own within seconds.
var claimRetry = RetryPolicy{MaxAttempts: 1, Base: 100 * time.Millisecond, Max: runMaxSleep, Jitter: 0.2}

// claimsEnded tells Run how the claims of its Tick, which ended without
// an error, came out: claims deliveries handed out, and whether one of
// them was still the Tick's at its step (took). A Tick that claimed
// nothing changes nothing. It does nothing on a nil runTick.
func (rt *runTick) claimsEnded(claims int64, took bool) {
	if rt == nil || claims == 0 {
		return
	}
	s := &rt.r.streak
	s.mu.Lock()
	defer s.mu.Unlock()
	if took {
		s.ticks, s.claims, s.told = 0, 0, false
		return
	}
	s.ticks++
	s.claims += claims
}

// pause returns how long Run waits before its next Tick (0: none) and,
// once a streak, the error to log.
func (s *claimStreak) pause() (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ticks < streakPause {
		return 0, nil
	}
	var err error
	if s.ticks >= streakLog && !s.told {
		s.told = true
		err = fmt.Errorf("connector: the store handed out %d deliveries in a row that were not leased to this engine's claims (store.Store Claim): waiting before each claim, longer each time, up to a minute", s.claims)
	}
	return claimRetry.backoff(s.ticks - streakPause + 1), err
}
