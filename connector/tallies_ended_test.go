package connector_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// A read of the tallies whose context has already ended (a dashboard
// page past its store timeout) sends none of the engine's counts: a
// flush's store call would outlive the context by up to 5 s, and the page
// with it. Without the check, the flush's select picks the free flushing
// slot or the ended context at random, so the loop makes a miss all but
// certain to show.
func TestTalliesWithAnEndedContextStartNoFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := &countingTallier{Memory: store.NewMemory()}
		e := tallyEngine(t, s, mockClock())
		require.NoError(t, e.Track(ctx, received("first")))
		synctest.Wait() // the first decision's flush, in the background
		require.NoError(t, e.FlushTallies(ctx))
		ended, cancel := context.WithCancel(ctx)
		cancel()
		for i := range 32 {
			require.NoError(t, e.Track(ctx, received(fmt.Sprint("u", i))))
			adds := s.adds.Load()
			_, err := e.Tallies(ended, store.TallyQuery{})
			require.ErrorIs(t, err, context.Canceled)
			require.Equal(t, adds, s.adds.Load(), "read %d sent the engine's counts", i)
		}
		require.NoError(t, e.FlushTallies(ctx))
		require.Equal(t, int64(33), scheduledCount(storedTallies(t, s)), "the counts wait for the next flush")
	})
}
