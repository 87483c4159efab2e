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
	"github.com/campaignconnector/campaignconnector/store"
)

// inFlight is a sender whose sends take latency on the mock clock; it
// keeps the most sends it saw in progress at once.
type inFlight struct {
	clk     *clock.Mock
	latency time.Duration

	mu        sync.Mutex
	now, peak int
	sent      int
}

func (s *inFlight) Send(context.Context, connector.Delivery) error {
	s.mu.Lock()
	s.now++
	s.peak = max(s.peak, s.now)
	s.mu.Unlock()
	<-s.clk.Timer(s.latency).C
	s.mu.Lock()
	s.now--
	s.sent++
	s.mu.Unlock()
	return nil
}

// TestSlotsShareAClaimThatTookEverythingDue checks that when the first
// claim of a Tick takes every due delivery (fewer than a batch), all the
// send slots work through it: slow sends go as many at once as the send
// concurrency allows, not one at a time.
func TestSlotsShareAClaimThatTookEverythingDue(t *testing.T) {
	for _, batch := range []int{256, 5000} {
		synctest.Test(t, func(t *testing.T) {
			clk := clock.NewMock()
			send := &inFlight{clk: clk, latency: 20 * time.Second}
			e, err := connector.New(store.NewMemory(), send, connector.WithClock(clk), connector.WithSendConcurrency(4),
				connector.WithSendTimeout(30*time.Second), connector.WithBatchSize(batch))
			require.NoError(t, err)
			waitingUsers(t, e, clk, 40)
			n, err := runTick(t, e, clk, time.Second)
			require.NoError(t, err)
			require.Equal(t, 40, n)
			require.Equal(t, 4, send.peak, "sends in progress at once, with a batch of %d", batch)
		})
	}
}
