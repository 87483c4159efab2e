package connector_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestRunUnwindsOnceItsTicksEnd: a panic that unwinds Run (the store's in
// Run's own call, here) while a Tick it started sends comes out of Run
// once that Tick has recorded its sends and ended, as a Tick's comes out
// once its sends are recorded; the Tick starts no send after the panic.
// Before, the Tick went on sending beside the Run the host started after
// recovering the panic: more sends at once than the engine has slots.
func TestRunUnwindsOnceItsTicksEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hostileStore{Memory: store.NewMemory(), what: "nextdue"}
		release, both := make(chan struct{}), make(chan struct{})
		h.before = func() { <-both } // the panic comes with two sends in progress
		var inFlight, most, sent atomic.Int32
		send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
			n := inFlight.Add(1)
			if n == 2 && most.Load() < 2 {
				close(both)
			}
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			<-release
			inFlight.Add(-1)
			sent.Add(1)
			return nil
		})
		e, err := connector.New(h, send, connector.WithSendConcurrency(2),
			connector.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		dueFor(t, e, "u1", "u2") // four deliveries, two sent at once
		h.left.Store(1)          // Run's first look at what falls due next panics
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		recovered := make(chan any, 1)
		go func() {
			defer func() { recovered <- recover() }()
			_ = e.Run(ctx)
		}()
		synctest.Wait()
		select {
		case <-recovered:
			n := inFlight.Load()
			close(release)
			synctest.Wait()
			t.Fatalf("Run unwound with %d sends in progress", n)
		default:
		}
		close(release)
		require.Equal(t, "boom", <-recovered)
		synctest.Wait()
		require.Equal(t, int32(2), sent.Load(), "sends after Run unwound")
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		synctest.Wait()
		st, err := e.Stats(context.Background())
		require.NoError(t, err)
		require.Zero(t, st.Pending, "deliveries left unsent")
		require.Equal(t, int32(4), sent.Load())
		require.Equal(t, int32(2), most.Load(), "sends in progress at once")
		cancel()
		require.NoError(t, <-done)
	})
}
