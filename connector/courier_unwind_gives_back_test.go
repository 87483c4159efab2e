package connector_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestATickWithOneSlotGivesBackAsItUnwinds: a Tick with one send slot,
// which runs on the Tick's goroutine, claims a batch; the slot's panic
// (an observer's, recovered by the host) gives back the claims it had not
// reached, as a panic on a slot of its own does: the next Tick sends them
// at once rather than a lease later. Only the delivery the slot had
// confirmed for its next send waits for its lease.
func TestATickWithOneSlotGivesBackAsItUnwinds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var once atomic.Bool
		l := &sendLog{}
		e, err := connector.New(store.NewMemory(), l, connector.WithSendConcurrency(1),
			connector.WithLogger(slog.New(slog.DiscardHandler)),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Delivered && once.CompareAndSwap(false, true) {
					panic("observer")
				}
			})))
		require.NoError(t, err)
		dueFor(t, e, "u1", "u2", "u3") // six deliveries, one claim
		recovered := tickPanic(e, context.Background())
		require.Equal(t, "observer", <-recovered)
		synctest.Wait()
		n, err := e.Tick(context.Background()) // no time has passed
		require.NoError(t, err)
		require.Equal(t, 4, n, "sent at once after the unwound Tick")
		st, err := e.Stats(context.Background())
		require.NoError(t, err)
		require.Equal(t, int64(1), st.Pending, "waiting for its lease")
	})
}

// tickPanic runs e.Tick(ctx) on a goroutine of its own, and returns a
// channel that receives what the Tick panicked with once it ends (nil
// when it returned, or ended with runtime.Goexit).
func tickPanic(e *connector.Engine, ctx context.Context) <-chan any {
	recovered := make(chan any, 1)
	go func() {
		defer func() { recovered <- recover() }()
		_, _ = e.Tick(ctx)
	}()
	return recovered
}
