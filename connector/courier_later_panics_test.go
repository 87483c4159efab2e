package connector_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestATicksLaterPanicsAreOneLine: an observer that panics at every
// Delivered decision, with eight sends that end together: the Tick
// repeats the first panic and logs the seven others in one line that
// counts them, not a line each (with the default 256 slots, a Tick
// would log 255 lines, and Run as many each time its host restarts it).
func TestATicksLaterPanicsAreOneLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
			time.Sleep(time.Second) // the sends end together
			return nil
		})
		var log syncBuffer
		e, err := connector.New(store.NewMemory(), send, connector.WithSendConcurrency(8),
			connector.WithLogger(slog.New(slog.NewTextHandler(&log, nil))),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Delivered {
					panic("observer")
				}
			})))
		require.NoError(t, err)
		dueFor(t, e, "u1", "u2", "u3", "u4") // eight deliveries, one per slot
		recovered := tickPanic(e, context.Background())
		require.Equal(t, "observer", <-recovered)
		synctest.Wait()
		require.Equal(t, 1, strings.Count(log.String(), "level=ERROR"), "%s", log.String())
		require.Contains(t, log.String(), "7 panics after another's, which the Tick repeats; the first: observer")
	})
}
