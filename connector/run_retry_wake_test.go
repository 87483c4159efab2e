package connector

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/stretchr/testify/require"
)

// A send that fails beside a slow one, in the same Tick, is tried again
// at its retry time, not when the slow send ends: the record of the
// failure wakes Run through the store's notifications.
func TestRunRetriesBesideASlowSendOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release, free := gate(t)
		var mu sync.Mutex
		var attempts []time.Time // of user "fail"
		send := func(_ context.Context, d Delivery) error {
			switch d.UserID {
			case "slow":
				<-release
			case "fail":
				mu.Lock()
				attempts = append(attempts, time.Now())
				first := len(attempts) == 1
				mu.Unlock()
				time.Sleep(100 * time.Millisecond) // Run sleeps meanwhile
				if first {
					return errors.New("provider down")
				}
			}
			return nil
		}
		h := newRunHarness(t, send, WithSendConcurrency(2),
			WithRetryPolicy(RetryPolicy{MaxAttempts: 3, Base: time.Second, Max: time.Minute}))
		// Both due when Run starts: one Tick claims them together.
		trackFor(t, h.engine, "slow", event.EmailOpened)
		trackFor(t, h.engine, "fail", event.EmailOpened)
		h.run()
		h.sleep(30 * time.Second)
		mu.Lock()
		got := append([]time.Time(nil), attempts...)
		mu.Unlock()
		require.Len(t, got, 2, "the retry waited for the slow send")
		// The first attempt's outcome is recorded 100 ms after it starts.
		require.Equal(t, 1100*time.Millisecond, got[1].Sub(got[0]), "tried again at its retry time")
		free()
		synctest.Wait()
		h.stop()
	})
}
