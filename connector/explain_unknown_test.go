package connector_test

import (
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// Explain about a campaign ID no campaign has (a misspelt ID) says so,
// instead of "no decision recorded" alone, which reads like a user nothing
// triggered; about a campaign the engine knows, it adds nothing.
func TestExplainSaysACampaignIsUnknown(t *testing.T) {
	ctx := context.Background()
	e, err := connector.New(store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithDecisionLog(100, 24*time.Hour))
	require.NoError(t, err)
	require.NoError(t, e.Apply(ctx, []rule.Campaign{{ID: "newsletter"}, {
		ID:       "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:    rule.After(time.Hour),
	}}))
	require.NoError(t, e.Track(ctx, event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}))

	for _, user := range []string{"ann", "nobody"} { // a user with state, and one the store does not know
		x, err := e.Explain(ctx, user, "resnd")
		require.NoError(t, err)
		require.True(t, x.CampaignUnknown, user)
		require.Contains(t, x.String(), `no campaign "resnd" is saved in the engine's namespace: a misspelt ID?`)

		x, err = e.Explain(ctx, user, "newsletter") // known, and nothing to explain
		require.NoError(t, err)
		require.False(t, x.CampaignUnknown, user)
		require.NotContains(t, x.String(), "misspelt")
	}
	x, err := e.Explain(ctx, "ann", "resend")
	require.NoError(t, err)
	require.False(t, x.CampaignUnknown)
}
