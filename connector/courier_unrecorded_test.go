package connector_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestExceptionDuringAnUnrecordedAttemptCancelsTheResend: an engine
// confirmed a delivery and died during its send, and an exception arrived
// while that send was in progress. The engine that takes the delivery over
// after the lease cancels it instead of sending it again: the first send
// may never have gone out, and the user had stopped waiting.
func TestExceptionDuringAnUnrecordedAttemptCancelsTheResend(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	mem := store.NewMemory()
	var sends atomic.Int32
	var decisions []rule.Decision
	e, err := connector.New(mem, connector.SenderFunc(func(context.Context, connector.Delivery) error {
		sends.Add(1)
		return nil
	}), connector.WithClock(clk), connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
		decisions = append(decisions, d)
	})))
	require.NoError(t, err)
	require.NoError(t, e.Apply(ctx, []rule.Campaign{
		{ID: "cart"},
		{ID: "reminder", Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "cart"}},
			Delay: rule.After(time.Hour), Exceptions: []rule.Exception{{Kind: event.Purchase}}},
	}))
	require.NoError(t, e.Track(ctx, event.Event{ID: "p1", UserID: "ann", Kind: event.PushReceived, CampaignID: "cart"}))

	// What a dead engine leaves: confirmed (sending, leased until a minute
	// after the due time), an exception noted during its send.
	due := clk.Now().Add(time.Hour)
	require.NoError(t, mem.Update(ctx, "", "ann", clk.Now(), store.Dedup{}, func(u *store.UserState, _ bool) {
		require.Len(t, u.Pending, 1)
		p := u.Pending[0]
		p.Sending, p.CancelOnFailure, p.Attempt, p.Token = true, true, 1, 42
		p.ReadyAt = due.Add(time.Minute)
	}))

	clk.Add(time.Hour + 2*time.Minute) // past the dead engine's lease
	n, err := e.Tick(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Zero(t, sends.Load(), "the delivery is sent again despite the exception")
	last := decisions[len(decisions)-1]
	require.Equal(t, rule.Cancelled, last.Kind)
	require.Equal(t, rule.ReasonException, last.Reason)
	st, err := e.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Pending)
}
