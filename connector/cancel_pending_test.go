package connector_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/lifecyclestress"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestCancelPendingFinishesAStopCutShort: a Stop or Archive whose store
// fails at its third batch leaves 3,000 deliveries pending; CancelPending
// cancels them at once, each with its decision (the operation's detail),
// and a second call finds nothing left. Nothing is sent, and nothing is
// cancelled again when due.
func TestCancelPendingFinishesAStopCutShort(t *testing.T) {
	for _, op := range []string{"stop", "archive"} {
		t.Run(op, func(t *testing.T) {
			ctx := context.Background()
			s := &batchSpy{Memory: store.NewMemory()}
			r := newBacklog(t, s, backlogUsers)
			s.resetCounts()
			s.failAt = 3
			var err error
			if op == "stop" {
				err = r.e.Stop(ctx, "resend")
			} else {
				err = r.e.Archive(ctx, "resend")
			}
			require.ErrorIs(t, err, connector.ErrNotCancelled)
			require.Len(t, r.stopped(t, op), 2000)
			n, err := r.e.CampaignPendingCount(ctx, "resend", 100_000)
			require.NoError(t, err)
			require.EqualValues(t, backlogUsers-2000, n)

			require.NoError(t, r.e.CancelPending(ctx, "resend"))
			require.Len(t, r.stopped(t, op), backlogUsers)
			n, err = r.e.CampaignPendingCount(ctx, "resend", 100_000)
			require.NoError(t, err)
			require.Zero(t, n)
			require.NoError(t, r.e.CancelPending(ctx, "resend"), "nothing left")
			require.Len(t, r.stopped(t, op), backlogUsers)

			r.sendDue(t, r.e)
			require.Empty(t, r.sent)
			require.Empty(t, r.stopped(t, ""), "cancelled again at claim time")
		})
	}
}

// TestCancelPendingKeepsAResumesDeliveries: a stop cut short, then a
// resume that schedules deliveries of its own: CancelPending of the
// active campaign cancels what the stop left and keeps the new
// activation's deliveries, which are sent.
func TestCancelPendingKeepsAResumesDeliveries(t *testing.T) {
	ctx := context.Background()
	s := &batchSpy{Memory: store.NewMemory()}
	r := newBacklog(t, s, backlogUsers)
	s.resetCounts()
	s.failAt = 2
	require.ErrorIs(t, r.e.Stop(ctx, "resend"), connector.ErrNotCancelled)
	s.failAt = 0
	require.NoError(t, r.e.Publish(ctx, "resend"))
	var fresh []string
	for i := range 20 {
		u := fmt.Sprintf("new%02d", i)
		fresh = append(fresh, u)
		require.NoError(t, r.e.Track(ctx, event.Event{ID: "r-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "newsletter", Time: r.clk.Now()}))
	}

	require.NoError(t, r.e.CancelPending(ctx, "resend"))
	require.Len(t, r.stopped(t, "stop"), backlogUsers)
	n, err := r.e.CampaignPendingCount(ctx, "resend", 100_000)
	require.NoError(t, err)
	require.EqualValues(t, len(fresh), n)

	r.sendDue(t, r.e)
	want := map[string]int{}
	for _, u := range fresh {
		want[u] = 1
	}
	require.Equal(t, want, r.sent)
}

// TestCancelPendingRefusals: an unknown campaign is refused as such, a
// nil context as such, and a store failure wraps ErrNotCancelled and its
// cause, leaving the deliveries for the next call.
func TestCancelPendingRefusals(t *testing.T) {
	ctx := context.Background()
	s := &batchSpy{Memory: store.NewMemory()}
	r := newBacklog(t, s, 10)
	require.ErrorIs(t, r.e.CancelPending(ctx, "nope"), connector.ErrUnknownCampaign)
	//lint:ignore SA1012 a nil context is what the test hands over
	require.ErrorIs(t, r.e.CancelPending(nil, "resend"), connector.ErrNilContext)
	s.resetCounts()
	s.failAt = 1
	require.ErrorIs(t, r.e.Stop(ctx, "resend"), connector.ErrNotCancelled)

	s.resetCounts()
	err := r.e.CancelPending(ctx, "resend")
	require.ErrorIs(t, err, connector.ErrNotCancelled)
	require.ErrorIs(t, err, errCancelDown)
	require.Empty(t, r.stopped(t, "stop"))

	s.failAt = 0
	require.NoError(t, r.e.CancelPending(ctx, "resend"))
	require.Len(t, r.stopped(t, "stop"), 10)
}

// revisionDown is a batchSpy whose Revision fails while down is set: the
// engine cannot read its campaigns.
type revisionDown struct {
	*batchSpy
	down atomic.Bool
}

var errRevisionDown = errors.New("the store is down (Revision)")

func (s *revisionDown) Revision(ctx context.Context, ns string) (int64, error) {
	if s.down.Load() {
		return 0, errRevisionDown
	}
	return s.batchSpy.Revision(ctx, ns)
}

// TestCancelPendingWhenTheCampaignCannotBeRead: after a stop cut short,
// CancelPending with ctx ended, or with the store failing the campaign's
// read, cancels nothing and says ErrNotCancelled with its cause, as a
// failure of the cancellation itself does: a caller that calls again while
// it gets ErrNotCancelled finishes the cancellation.
func TestCancelPendingWhenTheCampaignCannotBeRead(t *testing.T) {
	spy := &batchSpy{Memory: store.NewMemory()}
	s := &revisionDown{batchSpy: spy}
	r := newBacklog(t, s, 10)
	spy.resetCounts()
	spy.failAt = 1
	require.ErrorIs(t, r.e.Stop(context.Background(), "resend"), connector.ErrNotCancelled)
	spy.failAt = 0

	ended, cancel := context.WithCancel(context.Background())
	cancel()
	err := r.e.CancelPending(ended, "resend")
	require.ErrorIs(t, err, connector.ErrNotCancelled)
	require.ErrorIs(t, err, context.Canceled)
	s.down.Store(true)
	err = r.e.CancelPending(context.Background(), "resend")
	require.ErrorIs(t, err, connector.ErrNotCancelled)
	require.ErrorIs(t, err, errRevisionDown)
	require.Empty(t, r.stopped(t, "stop"))

	s.down.Store(false)
	require.NoError(t, r.e.CancelPending(context.Background(), "resend"))
	require.Len(t, r.stopped(t, "stop"), 10)
}

// TestCancelPendingAcrossEnginesMemory: lifecyclestress.CancelPending on
// one memory store shared by both engines, as the SQL stores' tests run
// it on theirs.
func TestCancelPendingAcrossEnginesMemory(t *testing.T) {
	s := store.NewMemory()
	lifecyclestress.CancelPending(t, s, s)
}
