package connector_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestCancelPendingOnACampaignNeverStopped: CancelPending of an active
// follow-up that was never stopped cancels nothing of its activation, with
// a store that takes batches or not; every delivery is sent when due.
func TestCancelPendingOnACampaignNeverStopped(t *testing.T) {
	for _, batched := range []bool{true, false} {
		t.Run(map[bool]string{true: "batched", false: "whole"}[batched], func(t *testing.T) {
			ctx := context.Background()
			spy := &batchSpy{Memory: store.NewMemory()}
			var s store.Store = spy
			if !batched {
				s = spyWithoutBatchCancel{batchSpy: spy}
			}
			r := newBacklog(t, s, 2500)
			require.NoError(t, r.e.CancelPending(ctx, "resend"))
			require.Empty(t, r.stopped(t, "stop"))
			n, err := r.e.CampaignPendingCount(ctx, "resend", 100_000)
			require.NoError(t, err)
			require.EqualValues(t, 2500, n)
			r.sendDue(t, r.e)
			require.Len(t, r.sent, 2500)
		})
	}
}

// TestCancelPendingTwiceWhileAnotherEngineSends: the backlog is due and
// another engine sends it, one send held; a stop is cut short, then two
// engines call CancelPending at once. Each delivery has one decision
// (delivered, or cancelled), and none is both sent and cancelled.
func TestCancelPendingTwiceWhileAnotherEngineSends(t *testing.T) {
	ctx := context.Background()
	s := &batchSpy{Memory: store.NewMemory()}
	r := newBacklog(t, s, backlogUsers)
	r.clk.Add(8 * 24 * time.Hour)
	send, held, release := r.holdingSender(nil)
	obs := r.observer()
	other := newEngine(t, s, send, r.clk, connector.WithObserver(obs), connector.WithSendConcurrency(4))
	third := newEngine(t, s, send, r.clk, connector.WithObserver(obs))
	_, err := other.Campaigns(ctx)
	require.NoError(t, err)
	_, err = third.Campaigns(ctx)
	require.NoError(t, err)
	tickDone := make(chan error, 1)
	go func() {
		for {
			n, err := other.Tick(ctx)
			if err != nil || n == 0 {
				tickDone <- err
				return
			}
		}
	}()
	<-held
	s.resetCounts()
	s.failAt = 2
	require.ErrorIs(t, r.e.Stop(ctx, "resend"), connector.ErrNotCancelled)
	s.mu.Lock()
	s.failAt = 0
	s.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = r.e.CancelPending(ctx, "resend") })
	wg.Go(func() { errs[1] = third.CancelPending(ctx, "resend") })
	wg.Wait()
	close(release)
	require.NoError(t, <-tickDone)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	r.sendDue(t, r.e)
	r.sendDue(t, other)
	r.sendDue(t, third)
	r.mu.Lock()
	defer r.mu.Unlock()
	decided := map[string]int{}
	var delivered, cancelled int
	for _, d := range r.ds {
		if d.CampaignID != "resend" {
			continue
		}
		switch {
		case d.Kind == rule.Delivered:
			delivered++
		case d.Kind == rule.Cancelled:
			cancelled++
		default:
			continue
		}
		decided[d.UserID]++
	}
	t.Logf("delivered %d cancelled %d sent %d", delivered, cancelled, len(r.sent))
	require.Len(t, decided, backlogUsers)
	for u, n := range decided {
		require.Equal(t, 1, n, "%s", u)
	}
	require.Equal(t, delivered, len(r.sent))
}

// TestCancelPendingWithAResumeBetweenBatches: after a stop cut short,
// another engine resumes the follow-up during CancelPending's first batch
// and receipts schedule deliveries of the new activation: CancelPending
// cancels every delivery the stop left, and the new ones stay.
func TestCancelPendingWithAResumeBetweenBatches(t *testing.T) {
	ctx := context.Background()
	s := &batchSpy{Memory: store.NewMemory()}
	r := newBacklog(t, s, backlogUsers)
	s.resetCounts()
	s.failAt = 1
	require.ErrorIs(t, r.e.Stop(ctx, "resend"), connector.ErrNotCancelled)
	s.resetCounts()
	s.failAt = 0
	other := newEngine(t, s, r.sender(), r.clk)
	var once atomic.Bool
	s.after = func(int) {
		if once.CompareAndSwap(false, true) {
			require.NoError(t, other.Publish(ctx, "resend"))
			trackReceipts(t, other, r, "new", 50)
		}
	}
	require.NoError(t, r.e.CancelPending(ctx, "resend"))
	require.Len(t, r.stopped(t, "stop"), backlogUsers)
	n, err := r.e.CampaignPendingCount(ctx, "resend", 100_000)
	require.NoError(t, err)
	require.EqualValues(t, 50, n)
}

// trackReceipts has e track receipts of the newsletter for n users named
// prefix and a number.
func trackReceipts(t *testing.T, e *connector.Engine, r *backlogRun, prefix string, n int) {
	t.Helper()
	for i := range n {
		u := fmt.Sprintf("%s%03d", prefix, i)
		require.NoError(t, e.Track(context.Background(), event.Event{ID: "r-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "newsletter", Time: r.clk.Now()}))
	}
}
