package connector_test

import (
	"context"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// The Explanation that Explain returns with an error, printed by a caller
// who ignored the error, says what it is instead of `"" and "":`.
func TestTheZeroExplanationSaysSo(t *testing.T) {
	e, err := connector.New(store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }))
	require.NoError(t, err)
	x, err := e.Explain(context.Background(), "ann", "resend") // no decision log: an error
	require.ErrorIs(t, err, connector.ErrNoDecisionLog)
	require.Equal(t, "no explanation (the zero Explanation: check the error Explain returned)\n", x.String())

	x = connector.Explanation{UserID: "ann", CampaignID: "resend"}
	require.Contains(t, x.String(), `ann and "resend":`)
	require.Contains(t, x.String(), "no decision recorded")
}
