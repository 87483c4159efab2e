package connector_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// TestAnExemptionEditedDuringASendCountsTheSendAfterward: while engine a
// sends a follow-up that ignores the caps, engine b sends another to the
// same user (the one in flight is not counted); an edit then makes the
// first count, and its send is recorded as counted: the user has one
// counted delivery more than the cap allows, once.
func TestAnExemptionEditedDuringASendCountsTheSendAfterward(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(connectortest.Start)
	mem := store.NewMemory()
	inSend, released := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var sent []string
	sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		if d.CampaignID == "exempt" {
			close(inSend)
			<-released
		}
		mu.Lock()
		sent = append(sent, d.CampaignID)
		mu.Unlock()
		return nil
	})
	caps := connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Window: 24 * time.Hour})
	a := newEngine(t, mem, sender, clk, caps)
	b := newEngine(t, mem, sender, clk, caps)
	opened := []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}
	set := func(exempt bool) []rule.Campaign {
		return []rule.Campaign{{ID: "o"},
			{ID: "exempt", IgnoreFrequencyCaps: exempt, Triggers: opened},
			{ID: "mail", Delay: rule.After(time.Second), Triggers: opened}}
	}
	require.NoError(t, a.Apply(ctx, set(true)))
	require.NoError(t, a.Track(ctx, event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "o"}))
	done := make(chan error)
	go func() {
		_, err := a.Tick(ctx) // sends "exempt", and waits in the sender
		done <- err
	}()
	<-inSend
	clk.Add(time.Second)
	_, err := b.Tick(ctx) // "mail": the send in flight is exempt, not counted
	require.NoError(t, err)
	require.NoError(t, a.Apply(ctx, set(false))) // "exempt" counts from now on
	close(released)
	require.NoError(t, <-done)
	require.ElementsMatch(t, []string{"mail", "exempt"}, sent)
	u, err := mem.User(ctx, "", "u")
	require.NoError(t, err)
	require.Len(t, u.Sends, 2, "counted sends in the cap's window, for a cap of 1")
}
