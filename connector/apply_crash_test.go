package connector_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// A Stop (or an Archive) cut short after the state changed and before the
// pending deliveries were cancelled (the process killed with SIGKILL, or
// ErrNotCancelled) left them pending: listed on the dashboard and by
// PendingDeliveries, for as long as their delay (days), and no call could
// cancel them (Stop again is an invalid transition). The restart that
// applies the set with KeepStopped, which keeps the campaign stopped,
// finishes the cancellation: the deliveries are cancelled then
// (campaign_stopped), none is sent, and an Apply with nothing left to
// cancel cancels nothing.
func TestApplyKeepStoppedFinishesAStopCutShort(t *testing.T) {
	for _, final := range []rule.State{rule.Stopped, rule.Archived} {
		t.Run(string(final), func(t *testing.T) {
			ctx := context.Background()
			clk := applyClock()
			mem := store.NewMemory()
			var sent int
			send := connector.SenderFunc(func(context.Context, connector.Delivery) error { sent++; return nil })

			// The process that stops: its store dies between the state
			// change and the cancellation, as a SIGKILL would leave it.
			before := newEngine(t, cancelDown{mem}, send, clk)
			require.NoError(t, before.Apply(ctx, resendCampaigns))
			for _, u := range []string{"ann", "bob", "cid"} {
				require.NoError(t, before.Track(ctx, event.Event{ID: "r-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "newsletter", Time: clk.Now()}))
			}
			var err error
			if final == rule.Archived {
				err = before.Archive(ctx, "resend")
			} else {
				err = before.Stop(ctx, "resend")
			}
			require.ErrorIs(t, err, connector.ErrNotCancelled)

			// The restart.
			var cancelled int
			after := newEngine(t, mem, send, clk, connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Cancelled && d.Reason == rule.ReasonCampaignStopped {
					cancelled++
				}
			})))
			pending := func() int {
				list, err := after.PendingDeliveries(ctx, store.PendingQuery{CampaignID: "resend", Limit: 10})
				require.NoError(t, err)
				return len(list)
			}
			require.Equal(t, 3, pending())
			require.NoError(t, after.Apply(ctx, resendCampaigns, connector.KeepStopped()))
			rec, err := after.Campaign(ctx, "resend")
			require.NoError(t, err)
			require.Equal(t, final, rec.State)
			require.Equal(t, 0, pending(), "the stop's cancellation is finished by the restart")
			require.Equal(t, 3, cancelled)

			require.NoError(t, after.Apply(ctx, resendCampaigns, connector.KeepStopped()))
			require.Equal(t, 3, cancelled, "nothing left: nothing more cancelled")
			clk.Add(8 * 24 * time.Hour)
			_, err = after.Tick(ctx)
			require.NoError(t, err)
			require.Zero(t, sent)
		})
	}
}

// The same cut short in Apply with StopOthers: the store fails after a
// campaign outside the set changed to stopped and before its deliveries
// were cancelled. The failure does not keep the next campaign outside the
// set from stopping (Apply's error wraps ErrNotCancelled and names both),
// and the restart that applies the set with StopOthers again finishes both
// cancellations: 6 cancelled, none sent.
func TestApplyStopOthersFinishesAStopCutShort(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	mem := store.NewMemory()
	var sent int
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { sent++; return nil })
	newsletter, resend := resendCampaigns[0], resendCampaigns[1]
	resend2 := resend
	resend2.ID = "resend2"
	full := []rule.Campaign{newsletter, resend, resend2}

	before := newEngine(t, cancelDown{mem}, send, clk)
	require.NoError(t, before.Apply(ctx, full))
	for _, u := range []string{"ann", "bob", "cid"} {
		require.NoError(t, before.Track(ctx, event.Event{ID: "r-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "newsletter", Time: clk.Now()}))
	}
	err := before.Apply(ctx, []rule.Campaign{newsletter}, connector.StopOthers())
	require.ErrorIs(t, err, connector.ErrNotCancelled)
	require.ErrorContains(t, err, `"resend"`)
	require.ErrorContains(t, err, `"resend2"`)
	for _, id := range []string{"resend", "resend2"} {
		rec, err := before.Campaign(ctx, id)
		require.NoError(t, err)
		require.Equal(t, rule.Stopped, rec.State, id)
	}

	var cancelled int
	after := newEngine(t, mem, send, clk, connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
		if d.Kind == rule.Cancelled && d.Reason == rule.ReasonCampaignStopped {
			cancelled++
		}
	})))
	pending := func() int {
		list, err := after.PendingDeliveries(ctx, store.PendingQuery{Limit: 10})
		require.NoError(t, err)
		return len(list)
	}
	require.Equal(t, 6, pending())
	require.NoError(t, after.Apply(ctx, []rule.Campaign{newsletter}, connector.StopOthers()))
	require.Equal(t, 0, pending(), "the stops' cancellations are finished by the restart")
	require.Equal(t, 6, cancelled)

	require.NoError(t, after.Apply(ctx, []rule.Campaign{newsletter}, connector.StopOthers()))
	require.Equal(t, 6, cancelled, "nothing left: nothing more cancelled")
	clk.Add(8 * 24 * time.Hour)
	_, err = after.Tick(ctx)
	require.NoError(t, err)
	require.Zero(t, sent)
}
