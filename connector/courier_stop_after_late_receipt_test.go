package connector_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestAStopDuringATakenOverSendIsNotHiddenByAnEarlierDeliverysReceipt:
// the follow-up is stopped and resumed during the send of delivery d0,
// and a new trigger schedules d1 before d0's send returns: d0's receipt
// is dated after d1 was due. An engine confirms d1 and dies; this engine
// claims it, finds the earlier attempt being sent, and sends attempt 2,
// during which the follow-up is stopped; the send fails. The stop left
// the outcome to that send: it is cancelled, not taken for another
// engine's send of d1 (no engine sent d1: the receipt is d0's).
func TestAStopDuringATakenOverSendIsNotHiddenByAnEarlierDeliverysReceipt(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	mem := store.NewMemory()
	var e *connector.Engine
	var d1 string
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		if d.CampaignID != "now" {
			return nil
		}
		if d.Trigger.ID == "ev-0" {
			require.NoError(t, e.Stop(ctx, "now"))
			require.NoError(t, e.Publish(ctx, "now"))
			require.NoError(t, e.Track(ctx, event.Event{ID: "ev-1", UserID: "ann", Kind: event.PushOpened, CampaignID: "o", Time: clk.Now()}))
			clk.Add(time.Second) // d0's send returns after d1 was due
			return nil
		}
		d1 = d.ID
		require.NoError(t, e.Stop(ctx, "now"))
		return errors.New("the provider refused")
	})
	o := &outcomes{}
	e = newEngine(t, mem, send, clk, connector.WithSendConcurrency(1),
		connector.WithObserver(connector.ObserverFunc(o.observe)))
	for _, c := range []rule.Campaign{
		{ID: "o"},
		{ID: "now", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}},
	} {
		require.NoError(t, e.Save(ctx, c))
		require.NoError(t, e.Publish(ctx, c.ID))
	}
	require.NoError(t, e.Track(ctx, event.Event{ID: "ev-0", UserID: "ann", Kind: event.PushOpened, CampaignID: "o", Time: clk.Now()}))
	// d0 is sent; d1 waits, due before d0's receipt.
	for {
		n, err := e.Tick(ctx)
		require.NoError(t, err)
		u, err := mem.User(ctx, "", "ann")
		require.NoError(t, err)
		if n > 0 || len(u.Pending) == 0 {
			require.Len(t, u.Pending, 1, "d1 waits")
			require.Empty(t, d1, "d1 is not sent yet")
			r, ok := u.Receipt("now")
			require.True(t, ok)
			require.False(t, r.At.Before(u.Pending[0].DueAt))
			break
		}
	}
	// Another engine confirms d1 and dies.
	require.NoError(t, mem.Update(ctx, "", "ann", clk.Now(), store.Dedup{}, func(u *store.UserState, _ bool) {
		require.Len(t, u.Pending, 1)
		u.Pending[0].Sending = true
		u.Pending[0].Attempt = 1
	}))
	clk.Add(time.Hour)
	_, err := e.Tick(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, d1)
	require.Equal(t, []rule.DecisionKind{rule.Cancelled}, o.of(d1), "%+v", o.all())
}
