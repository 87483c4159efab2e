package connector

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSystemClockIsTheSystemsTime checks, in a synctest bubble (whose
// fake time is the time package's), that SystemClock reads the time
// package's time and that its timers fire after their duration of it, to
// the nanosecond.
func TestSystemClockIsTheSystemsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := SystemClock()
		require.True(t, c.Now().Equal(time.Now()))
		start := time.Now()
		timer := c.Timer(time.Hour)
		time.Sleep(time.Hour - time.Nanosecond)
		require.True(t, c.Now().Equal(start.Add(time.Hour-time.Nanosecond)))
		synctest.Wait()
		require.Empty(t, timer.C, "fired early")
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		select {
		case at := <-timer.C:
			require.True(t, at.Equal(start.Add(time.Hour)), "fired at %v", at.Sub(start))
		default:
			t.Fatal("did not fire after its duration")
		}
	})
}
