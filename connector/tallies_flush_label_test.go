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
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
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

// TestABackfillsFlushFailureIsLoggedAsThePublish: the decisions a
// Publish with a Backfill takes (the deliveries it schedules) start a
// background flush in an engine without Run; its failure is the
// publish's, not a Track's: the engine that publishes never tracks.
func TestABackfillsFlushFailureIsLoggedAsThePublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := &talliesDown{Memory: store.NewMemory()}
		var trackLog, publishLog syncBuffer
		engine := func(log *syncBuffer) *connector.Engine {
			e, err := connector.New(s, nopSender, connector.WithInteractionLog(30*24*time.Hour),
				connector.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
			require.NoError(t, err)
			return e
		}
		tracker, publisher := engine(&trackLog), engine(&publishLog)
		require.NoError(t, tracker.Save(ctx, rule.Campaign{ID: "news"}))
		require.NoError(t, tracker.Save(ctx, rule.Campaign{ID: "resend", Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}}}))
		require.NoError(t, tracker.Publish(ctx, "news"))
		since := time.Now()
		require.NoError(t, tracker.Track(ctx, received("u1")))
		require.NoError(t, tracker.FlushTallies(ctx))

		s.down.Store(true)
		time.Sleep(time.Minute) // past a flush interval
		require.NoError(t, publisher.Publish(ctx, "resend", connector.Backfill(since)))
		synctest.Wait()
		require.Contains(t, publishLog.String(), "the tallies table is gone", "the backfill's counts were flushed")
		require.Contains(t, publishLog.String(), `msg="campaignconnector: publish"`)
		require.NotContains(t, publishLog.String(), "campaignconnector: track")
	})
}

// cancelsDown is a talliesDown whose cancellation of a campaign's pending
// deliveries fails while cancelDown is set.
type cancelsDown struct {
	talliesDown
	cancelDown atomic.Bool
}

func (s *cancelsDown) CancelCampaign(ctx context.Context, ns, id string) ([]store.Claim, error) {
	if s.cancelDown.Load() {
		return nil, errors.New("cancel: connection refused")
	}
	return s.Memory.CancelCampaign(ctx, ns, id)
}

func (s *cancelsDown) CancelCampaignBatch(ctx context.Context, ns, id, cursor string, limit int) ([]store.Claim, string, error) {
	if s.cancelDown.Load() {
		return nil, "", errors.New("cancel: connection refused")
	}
	return s.Memory.CancelCampaignBatch(ctx, ns, id, cursor, limit)
}

// TestTheCancellationsOfApplyAndCancelPendingAreLoggedAsTheirStop: the
// cancellations that finish an archive cut short (CancelPending) log a
// failed background flush as the archive's, and those of an Apply that
// stops the campaigns outside the set as a stop's, as the observability
// page says.
func TestTheCancellationsOfApplyAndCancelPendingAreLoggedAsTheirStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := &cancelsDown{talliesDown: talliesDown{Memory: store.NewMemory()}}
		engine := func(log *syncBuffer) *connector.Engine {
			e, err := connector.New(s, nopSender, connector.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
			require.NoError(t, err)
			return e
		}
		var trackLog, archiveLog, cancelLog, applyLog syncBuffer
		tracker := tallyEngine(t, s, connector.WithLogger(slog.New(slog.NewTextHandler(&trackLog, nil))))
		archiver, canceller, applier := engine(&archiveLog), engine(&cancelLog), engine(&applyLog)
		require.NoError(t, tracker.Track(ctx, received("u1")))
		require.NoError(t, tracker.FlushTallies(ctx))
		s.down.Store(true)
		time.Sleep(time.Minute) // past a flush interval

		s.cancelDown.Store(true)
		require.ErrorIs(t, archiver.Archive(ctx, "resend"), connector.ErrNotCancelled)
		s.cancelDown.Store(false)
		require.NoError(t, canceller.CancelPending(ctx, "resend"))
		synctest.Wait()
		require.Empty(t, archiveLog.String(), "the archive cancelled nothing")
		require.Contains(t, cancelLog.String(), `msg="campaignconnector: archive"`)
		require.Contains(t, cancelLog.String(), "the tallies table is gone")

		require.NoError(t, tracker.Save(ctx, rule.Campaign{ID: "resend2", Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}}}))
		require.NoError(t, tracker.Publish(ctx, "resend2"))
		require.NoError(t, tracker.Track(ctx, received("u2")))
		news, err := applier.Campaign(ctx, "news")
		require.NoError(t, err)
		require.NoError(t, applier.Apply(ctx, []rule.Campaign{news.Campaign}, connector.StopOthers()))
		synctest.Wait()
		require.Contains(t, applyLog.String(), `msg="campaignconnector: stop"`)
		require.NotContains(t, applyLog.String(), "campaignconnector: track")
	})
}
