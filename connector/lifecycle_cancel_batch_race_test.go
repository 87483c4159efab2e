package connector_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestAStopInBatchesWhileAnotherEngineSends: the backlog is due, and
// another engine's Tick is sending it while the stop goes through its
// batches, one of its sends (leased before the stop) held until the
// stop's second batch. No send starts after Stop returns, and each
// delivery has one decision (delivered, or cancelled by the stop or at
// claim time), which the tallies count.
func TestAStopInBatchesWhileAnotherEngineSends(t *testing.T) {
	ctx := context.Background()
	s := &batchSpy{Memory: store.NewMemory()}
	r := newBacklog(t, s, backlogUsers)
	s.resetCounts()
	r.clk.Add(8 * 24 * time.Hour) // all due

	var stopReturned atomic.Bool
	var late atomic.Int32
	send, held, release := r.holdingSender(func() {
		if stopReturned.Load() {
			late.Add(1)
		}
	})
	obs := r.observer()
	other := newEngine(t, s, send, r.clk, connector.WithObserver(obs), connector.WithSendConcurrency(4))
	_, err := other.Campaigns(ctx) // its snapshot: the follow-up active
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
	heldUser := <-held
	s.after = func(call int) {
		if call == 2 {
			close(release)
		}
	}
	require.NoError(t, r.e.Stop(ctx, "resend"))
	stopReturned.Store(true)
	require.NoError(t, <-tickDone)
	require.Zero(t, late.Load(), "sends after Stop returned")

	r.sendDue(t, r.e)
	r.sendDue(t, other)
	r.mu.Lock()
	defer r.mu.Unlock()
	decided := map[string]int{}
	var delivered, cancelled int64
	for _, d := range r.ds {
		if d.CampaignID != "resend" {
			continue
		}
		switch {
		case d.Kind == rule.Delivered:
			delivered++
		case d.Kind == rule.Cancelled && d.Reason == rule.ReasonCampaignStopped:
			cancelled++
		default:
			continue
		}
		decided[d.UserID]++
	}
	require.Len(t, decided, backlogUsers)
	for u, n := range decided {
		require.Equal(t, 1, n, "%s's decisions", u)
	}
	require.Equal(t, 1, r.sent[heldUser])
	for u, n := range r.sent {
		require.Equal(t, 1, n, "%s sent", u)
	}
	require.Equal(t, int64(len(r.sent)), delivered)
	t.Logf("delivered %d, cancelled %d, batches %d", delivered, cancelled, s.batches)
	ts, err := r.e.Tallies(ctx, store.TallyQuery{CampaignID: "resend"})
	require.NoError(t, err)
	var tDelivered, tCancelled int64
	for _, tl := range ts {
		switch {
		case tl.Kind == rule.Delivered:
			tDelivered += tl.Count
		case tl.Kind == rule.Cancelled && tl.Reason == rule.ReasonCampaignStopped:
			tCancelled += tl.Count
		}
	}
	require.Equal(t, delivered, tDelivered)
	require.Equal(t, cancelled, tCancelled)
}

// TestAnotherEngineBetweenBatches: after the stop's first batch, another
// engine archives the follow-up (its own walk of the rest), saves an edit
// of it, or fails to stop it again. Each delivery has one decision, and
// none is sent.
func TestAnotherEngineBetweenBatches(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(t *testing.T, other *connector.Engine)
	}{
		{"archive", func(t *testing.T, other *connector.Engine) {
			require.NoError(t, other.Archive(context.Background(), "resend"))
		}},
		{"save", func(t *testing.T, other *connector.Engine) {
			c := resendCampaigns[1].Clone()
			c.Message = []byte(`{"subject":"edited"}`)
			require.NoError(t, other.Save(context.Background(), c))
		}},
		{"stop again", func(t *testing.T, other *connector.Engine) {
			_ = other.Stop(context.Background(), "resend")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := &batchSpy{Memory: store.NewMemory()}
			r := newBacklog(t, s, backlogUsers)
			s.resetCounts()
			obs := r.observer()
			other := newEngine(t, s, r.sender(), r.clk, connector.WithObserver(obs))
			var once atomic.Bool
			s.after = func(int) {
				if once.CompareAndSwap(false, true) {
					tc.act(t, other)
				}
			}
			require.NoError(t, r.e.Stop(ctx, "resend"))
			r.sendDue(t, r.e)
			r.sendDue(t, other)
			require.Empty(t, r.sent)
			r.mu.Lock()
			defer r.mu.Unlock()
			decided := map[string]int{}
			for _, d := range r.ds {
				if d.CampaignID == "resend" && d.Kind == rule.Cancelled && d.Reason == rule.ReasonCampaignStopped {
					decided[d.UserID]++
				}
			}
			require.Len(t, decided, backlogUsers)
			for u, n := range decided {
				require.Equal(t, 1, n, "%s's decisions", u)
			}
			ts, err := r.e.Tallies(ctx, store.TallyQuery{CampaignID: "resend"})
			require.NoError(t, err)
			var n int64
			for _, tl := range ts {
				if tl.Kind == rule.Cancelled && tl.Reason == rule.ReasonCampaignStopped {
					n += tl.Count
				}
			}
			require.Equal(t, int64(backlogUsers), n)
		})
	}
}
