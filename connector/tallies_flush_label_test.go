package connector_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// talliesDown is a memory store whose AddTallies fails while down.
type talliesDown struct {
	*store.Memory
	down atomic.Bool
}

func (s *talliesDown) AddTallies(ctx context.Context, ns string, tallies []store.Tally) error {
	if s.down.Load() {
		return errors.New("the tallies table is gone")
	}
	return s.Memory.AddTallies(ctx, ns, tallies)
}

// TestABackgroundFlushFailureNamesTheCallBehindIt: an engine without Run
// flushes its counts in the background after a decision; a failure is
// logged under the call whose decision started the flush: "track" for
// Track's, "tick" for a Tick's delivery (an engine that only sends), and
// "stop" for the deliveries a Stop cancels. Each engine here makes one
// kind of call only.
func TestABackgroundFlushFailureNamesTheCallBehindIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := &talliesDown{Memory: store.NewMemory()}
		s.down.Store(true)
		engine := func(log *syncBuffer) *connector.Engine {
			e, err := connector.New(s, nopSender, connector.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
			require.NoError(t, err)
			return e
		}
		var trackLog, tickLog, stopLog syncBuffer
		tracker := tallyEngine(t, s, connector.WithLogger(slog.New(slog.NewTextHandler(&trackLog, nil))))
		ticker, stopper := engine(&tickLog), engine(&stopLog)
		time.Sleep(time.Minute) // past a flush interval
		require.NoError(t, tracker.Track(ctx, received("u1")))
		synctest.Wait()
		require.Contains(t, trackLog.String(), `msg="campaignconnector: track"`)
		require.Contains(t, trackLog.String(), "the tallies table is gone")

		time.Sleep(2 * time.Hour) // u1's resend is due
		n, err := ticker.Tick(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		synctest.Wait()
		require.Contains(t, tickLog.String(), `msg="campaignconnector: tick"`)
		require.NotContains(t, tickLog.String(), "campaignconnector: track")

		require.NoError(t, tracker.Track(ctx, received("u2")))
		require.NoError(t, stopper.Stop(ctx, "resend"))
		synctest.Wait()
		require.Contains(t, stopLog.String(), `msg="campaignconnector: stop"`)
		require.NotContains(t, stopLog.String(), "campaignconnector: track")
	})
}
