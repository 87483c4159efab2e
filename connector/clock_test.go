package connector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSystemClockFollowsTheSystemClock checks that SystemClock reads the
// system's time (within the slack a loaded machine needs between two
// reads), never goes back, and reads the wall clock afresh once its base
// is older than the rebase interval.
func TestSystemClockFollowsTheSystemClock(t *testing.T) {
	c := SystemClock().(*systemClock)
	prev := c.Now()
	for range 1000 {
		before := time.Now()
		got := c.Now()
		after := time.Now()
		require.False(t, got.Before(prev), "went back from %v to %v", prev, got)
		require.WithinRange(t, got.Round(0), before.Round(0).Add(-50*time.Millisecond), after.Round(0).Add(50*time.Millisecond))
		prev = got
	}
	// A base older than the interval is replaced by a fresh reading.
	stale := time.Now().Add(-2 * rebaseAfter)
	c.base.Store(&stale)
	got := c.Now()
	require.NotSame(t, &stale, c.base.Load(), "base not renewed")
	require.WithinDuration(t, time.Now(), got, 50*time.Millisecond)
	require.WithinDuration(t, time.Now(), *c.base.Load(), 50*time.Millisecond)
	// Within the interval the base stays.
	b := c.base.Load()
	c.Now()
	require.Same(t, b, c.base.Load())
}
