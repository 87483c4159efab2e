package connector_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestATicksSecondPanicIsLogged: two send slots of a Tick panic at once
// (an observer's, on the record of two sends that ended together): the
// Tick repeats the first to reach it, and the other, which nothing
// repeats, is logged at Error rather than lost without a word. Which of
// the two slots reaches the Tick first is the scheduler's choice, not
// the order their observers were called in.
func TestATicksSecondPanicIsLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		both := make(chan struct{})
		var in atomic.Int32
		send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
			if in.Add(1) == 2 {
				close(both)
			}
			<-both // the two sends end together
			return nil
		})
		var log syncBuffer
		var n atomic.Int32
		e, err := connector.New(store.NewMemory(), send, connector.WithSendConcurrency(2),
			connector.WithLogger(slog.New(slog.NewTextHandler(&log, nil))),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Delivered {
					if n.Add(1) == 1 {
						panic("first")
					}
					panic("second")
				}
			})))
		require.NoError(t, err)
		dueFor(t, e, "u1") // two deliveries, one per slot
		repeated := <-tickPanic(e, context.Background())
		require.Contains(t, []any{"first", "second"}, repeated)
		other := "first"
		if repeated == "first" {
			other = "second"
		}
		require.Equal(t, int32(2), n.Load())
		require.Contains(t, log.String(), "which the Tick repeats: "+other, "the panic the Tick does not repeat")
		require.Equal(t, 1, strings.Count(log.String(), "level=ERROR"))
	})
}
