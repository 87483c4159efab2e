package connector_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// campaignsLocked is a memory store whose reads of the campaigns, while
// locked, wait until the lock is released (a table another session holds
// locked), whatever their context; its revision and its other calls
// still answer.
type campaignsLocked struct {
	*store.Memory
	locked atomic.Pointer[chan struct{}]
}

func (s *campaignsLocked) lock() func() {
	ch := make(chan struct{})
	s.locked.Store(&ch)
	return func() { s.locked.Store(nil); close(ch) }
}

func (s *campaignsLocked) Campaigns(ctx context.Context, ns string) (int64, []store.CampaignRecord, error) {
	if ch := s.locked.Load(); ch != nil {
		<-*ch
	}
	return s.Memory.Campaigns(ctx, ns)
}

// While Run's read of the campaigns waits on a locked table, a host's
// Track with a short context fails with that context's error; once the
// table is released, Run reads the campaigns changed by another engine
// and sends what falls due, and Track works again.
func TestRunRecoversOnceALockedCampaignsReadAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := &campaignsLocked{Memory: store.NewMemory()}
		var sent atomic.Int32
		e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error {
			sent.Add(1)
			return nil
		}))
		require.NoError(t, err)
		other, err := connector.New(s.Memory, noop)
		require.NoError(t, err)

		runCtx, stopRun := context.WithCancel(ctx)
		ran := make(chan error, 1)
		go func() { ran <- e.Run(runCtx) }()
		synctest.Wait()

		unlock := s.lock()
		require.NoError(t, other.Save(ctx, rule.Campaign{ID: "news"}))
		require.NoError(t, other.Save(ctx, rule.Campaign{ID: "resend", Delay: rule.After(time.Minute),
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}}}))
		require.NoError(t, other.Publish(ctx, "news"))
		require.NoError(t, other.Publish(ctx, "resend"))
		require.NoError(t, other.Track(ctx, event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "news"}))
		time.Sleep(2 * time.Minute) // Run's poll finds the revision ahead: its read waits on the lock
		synctest.Wait()
		require.Zero(t, sent.Load())

		short, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		start := time.Now()
		err = e.Track(short, event.Event{UserID: "bob", Kind: event.EmailReceived, CampaignID: "news"})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, 5*time.Second, time.Since(start))

		unlock()
		synctest.Wait()
		require.EqualValues(t, 1, sent.Load(), "Run sends once the read answers")
		require.NoError(t, e.Track(ctx, event.Event{UserID: "bob", Kind: event.EmailReceived, CampaignID: "news"}))
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		require.EqualValues(t, 2, sent.Load())
		stopRun()
		require.NoError(t, <-ran)
	})
}

// panicking is a memory store whose next read of the campaigns panics.
type panicking struct {
	*store.Memory
	armed atomic.Bool
}

func (s *panicking) Campaigns(ctx context.Context, ns string) (int64, []store.CampaignRecord, error) {
	if s.armed.CompareAndSwap(true, false) {
		panic("store")
	}
	return s.Memory.Campaigns(ctx, ns)
}

// A store that panics in a read of the campaigns, during a read's rebuild
// or a change's, leaves the engine's next calls free to rebuild.
func TestAPanickingCampaignsReadLeavesNoRebuildBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := &panicking{Memory: store.NewMemory()}
		e, err := connector.New(s, noop)
		require.NoError(t, err)
		other, err := connector.New(s.Memory, noop)
		require.NoError(t, err)

		require.NoError(t, other.Save(ctx, rule.Campaign{ID: "news"}))
		s.armed.Store(true)
		require.Panics(t, func() { _, _ = e.Campaigns(ctx) })
		recs, err := e.Campaigns(ctx)
		require.NoError(t, err)
		require.Len(t, recs, 1)

		// A change of e's after another engine's: its adopt rebuilds.
		require.NoError(t, other.Save(ctx, rule.Campaign{ID: "resend"}))
		s.armed.Store(true)
		require.Panics(t, func() { _ = e.Publish(ctx, "news") })
		done := make(chan error, 1)
		go func() { _, err := e.Campaigns(ctx); done <- err }()
		synctest.Wait()
		select {
		case err := <-done:
			require.NoError(t, err)
		default:
			t.Fatal("a read waits for the panicked rebuild")
		}
		rec, err := e.Campaign(ctx, "news")
		require.NoError(t, err)
		require.Equal(t, rule.Active, rec.State)
	})
}
