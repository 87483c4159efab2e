package connector_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestStopAndBackfillDuringAFailedSendReportsItCancelled checks that a
// delivery whose follow-up is stopped during its send, then resumed with
// a backfill that schedules the same trigger again (a delivery with the
// same ID, of the new activation), is reported cancelled by the stop
// once its send fails: the new activation's delivery is not the one sent,
// taken by another engine, and it stays to be sent.
func TestStopAndBackfillDuringAFailedSendReportsItCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		clk := clock.NewMock()
		s := store.NewMemory()
		send := &gatedSender{}
		o := &outcomes{}
		_, tick := backfillDuringSend(t, s, send, o, clk)
		st, err := s.User(ctx, "", "u")
		require.NoError(t, err)
		require.Len(t, st.Pending, 1, "the backfill schedules the trigger again")
		send.answer[0] <- errors.New("provider down")
		tick.Wait()

		st, err = s.User(ctx, "", "u")
		require.NoError(t, err)
		require.Len(t, st.Pending, 1, "the new activation's delivery stays")
		require.Equal(t, int64(2), st.Pending[0].Activation)
		outcomes := o.all()
		require.Len(t, outcomes, 1, "%v", outcomes)
		require.Equal(t, rule.Cancelled, outcomes[0].Kind, "%v", outcomes[0])
		require.Equal(t, rule.ReasonCampaignStopped, outcomes[0].Reason)
		require.Equal(t, 1, outcomes[0].Attempt)
	})
}

// backfillDuringSend starts an engine on s, with sender send and observer
// o, whose follow-up f of o is triggered by u's push_opened, and a Tick
// that sends it; during that send (send holds it), f is stopped and
// published again with a backfill from the trigger, which schedules a
// delivery of the new activation for the same trigger. It returns the
// engine and the Tick, still sending.
func backfillDuringSend(t *testing.T, s store.Store, send *gatedSender, o *outcomes, clk *clock.Mock) (*connector.Engine, *sync.WaitGroup) {
	t.Helper()
	ctx := context.Background()
	e, err := connector.New(s, send, connector.WithClock(clk), connector.WithLease(time.Minute),
		connector.WithInteractionLog(24*time.Hour),
		connector.WithObserver(connector.ObserverFunc(o.observe)),
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 5, Base: time.Hour, Max: time.Hour}))
	require.NoError(t, err)
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}}))
	require.NoError(t, e.Publish(ctx, "f"))
	require.NoError(t, e.Publish(ctx, "o"))
	t0 := clk.Now()
	require.NoError(t, e.Track(ctx, event.Event{ID: "e1", UserID: "u", Kind: event.PushOpened, CampaignID: "o", Time: t0}))
	tick := new(sync.WaitGroup)
	tick.Go(func() {
		if _, err := e.Tick(ctx); err != nil {
			t.Error(err)
		}
	})
	synctest.Wait()
	require.Equal(t, 1, send.calls())
	require.NoError(t, e.Stop(ctx, "f"))
	clk.Add(time.Second)
	require.NoError(t, e.Publish(ctx, "f", connector.Backfill(t0)))
	return e, tick
}
