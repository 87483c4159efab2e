package connector_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestRecordOfASendAStopRemovedOutlivesItsLease checks that the record of
// a send that went through after a stop removed its delivery, and after
// the delivery's lease would have ended, is retried when its first call
// fails: no other engine can take a delivery that is gone, so the lease
// does not bound the retries, and the send's receipt and delivered
// decision are stored rather than lost.
func TestRecordOfASendAStopRemovedOutlivesItsLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		clk := clock.NewMock()
		s := &failFirstRecord{Memory: store.NewMemory()}
		send := &gatedSender{}
		var mu sync.Mutex
		delivered := 0
		e, err := connector.New(s, send, connector.WithClock(clk), connector.WithLease(time.Minute),
			connector.WithDecisionLog(100, 24*time.Hour),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Delivered {
					mu.Lock()
					delivered++
					mu.Unlock()
				}
			})))
		require.NoError(t, err)
		waitingUsers(t, e, clk, 1)
		done := make(chan error, 1)
		go func() {
			_, err := e.Tick(ctx)
			done <- err
		}()
		synctest.Wait()
		require.Equal(t, 1, send.calls())
		require.NoError(t, e.Stop(ctx, "f")) // the delivery is removed under the send's lease
		clk.Add(15 * time.Second)            // the keeper finds it gone
		synctest.Wait()
		clk.Add(2 * time.Minute) // past the lease's end
		synctest.Wait()
		send.answer[0] <- nil // the sender accepted it; the record's first call fails
		require.NoError(t, settle(done, clk, 10*time.Millisecond), "the Tick gave up the record")
		require.True(t, s.failed, "the record's first call failed")

		u, err := s.Memory.User(ctx, "", "u0")
		require.NoError(t, err)
		_, ok := u.Receipt("f")
		require.True(t, ok, "the send's receipt is stored")
		logged := 0
		for _, d := range u.Log {
			if d.Kind == rule.Delivered {
				logged++
			}
		}
		require.Equal(t, 1, logged, "delivered decisions logged")
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, 1, delivered, "delivered decisions observed")
	})
}
