package connector

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDefaultClockIsTheSystemsTime checks, in a synctest bubble (whose
// fake time is the time package's), that the engine's default clock, and
// the deprecated SystemClock, read the time package's time and that their
// timers fire after their duration of it, to the nanosecond.
func TestDefaultClockIsTheSystemsTime(t *testing.T) {
	clocks := map[string]func() Clock{
		"default":     func() Clock { cfg := defaultConfig(); return cfg.clock },
		"SystemClock": SystemClock,
	}
	for name, newClock := range clocks {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newClock()
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
		})
	}
}
