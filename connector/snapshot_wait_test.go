package connector_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// campaignsHang is a memory store whose reads of the campaigns, while hang
// is set, wait for their context to end; its revision still answers (a
// table another session holds locked, say).
type campaignsHang struct {
	*store.Memory
	hang atomic.Bool
}

func (s *campaignsHang) Campaigns(ctx context.Context, ns string) (int64, []store.CampaignRecord, error) {
	if s.hang.Load() {
		<-ctx.Done()
		return 0, nil, ctx.Err()
	}
	return s.Memory.Campaigns(ctx, ns)
}

// hungRebuild returns, inside a synctest bubble, an engine on a store
// whose revision another engine moved past the engine's snapshot, and
// whose reads of the campaigns hang; a caller with a 10-minute context is
// rebuilding the snapshot, its read hung, and reports on done once
// cancelLong ends it.
func hungRebuild(t *testing.T) (e *connector.Engine, s *campaignsHang, done <-chan error, cancelLong context.CancelFunc) {
	t.Helper()
	ctx := context.Background()
	s = &campaignsHang{Memory: store.NewMemory()}
	e, err := connector.New(s, noop)
	require.NoError(t, err)
	other, err := connector.New(s.Memory, noop)
	require.NoError(t, err)
	require.NoError(t, other.Apply(ctx, chain(time.Hour))) // the store's revision moves past e's snapshot
	s.hang.Store(true)

	long, cancelLong := context.WithTimeout(ctx, 10*time.Minute)
	errs := make(chan error, 1)
	go func() {
		_, err := e.Campaigns(long)
		errs <- err
	}()
	synctest.Wait() // the long caller rebuilds, its read of the campaigns hung
	return e, s, errs, cancelLong
}

// A read of the campaigns that finds the store's revision ahead of the
// engine's snapshot waits for another caller's rebuild of it only as long
// as its own context lasts: a caller with a longer one (Run's courier, an
// action, a host's Track) whose read of the campaigns hangs does not hold
// a dashboard page past its store timeout. (A wait on a mutex there
// would hang this test: the bubble's clock does not move while a
// goroutine waits on a mutex.)
func TestACampaignsReadWaitsForAnotherRebuildOnlyAsLongAsItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		e, s, done, cancelLong := hungRebuild(t)
		defer cancelLong()

		page, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		start := time.Now()
		_, err := e.Campaigns(page)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, 30*time.Second, time.Since(start), "the read waited for the other caller's rebuild")

		s.hang.Store(false)
		cancelLong()
		require.ErrorIs(t, <-done, context.Canceled)
		recs, err := e.Campaigns(ctx)
		require.NoError(t, err)
		require.Len(t, recs, 3, "the next read rebuilds the snapshot")
	})
}

// A change (Stop, Publish, Save) waits for another caller's rebuild of the
// campaigns only as long as its own context lasts, as a read does: the
// change is stored, the call returns ctx's error, and the engine's next
// read, the other caller's rebuild over, sees the change.
func TestAChangeWaitsForAnotherRebuildOnlyAsLongAsItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		e, s, done, cancelLong := hungRebuild(t)
		defer cancelLong()

		short, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		start := time.Now()
		err := e.Stop(short, "news")
		require.ErrorIs(t, err, connector.ErrNotCancelled)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, 30*time.Second, time.Since(start), "the stop waited for the other caller's rebuild")

		short, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		start = time.Now()
		require.ErrorIs(t, e.Save(short, rule.Campaign{ID: "extra"}), context.DeadlineExceeded)
		require.Equal(t, 30*time.Second, time.Since(start), "the save waited for the other caller's rebuild")

		s.hang.Store(false)
		cancelLong()
		require.ErrorIs(t, <-done, context.Canceled)
		rec, err := e.Campaign(ctx, "news")
		require.NoError(t, err)
		require.Equal(t, rule.Stopped, rec.State, "the next read sees the stop")
	})
}
