package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// An exception with a long condition (a purchase of any of a thousand
// SKUs) cancels a delivery: its tally, keyed by the exception's words,
// reaches the store like any other, and the engine's other counts with it.
func TestTallyOfLongExceptionIsStored(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithClock(clk))
	require.NoError(t, err)
	skus := make([]any, 1000)
	for i := range skus {
		skus[i] = fmt.Sprintf("sku-%08x", uint32(i)*2654435761)
	}
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "news"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "resend", Delay: rule.After(time.Hour),
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}},
		Exceptions: []rule.Exception{{Kind: event.Purchase, Where: []rule.Condition{{Property: "sku", Op: rule.OpOneOf, Value: skus}}}}}))
	require.NoError(t, e.Publish(ctx, "resend"))
	require.NoError(t, e.Publish(ctx, "news"))
	require.NoError(t, e.Track(ctx, event.Event{UserID: "u1", Kind: event.EmailReceived, CampaignID: "news"}))
	require.NoError(t, e.Track(ctx, event.Event{UserID: "u1", Kind: event.Purchase, Properties: map[string]any{"sku": skus[7]}}))
	got, err := e.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	kinds := map[rule.DecisionKind]int64{}
	for _, x := range got {
		kinds[x.Kind] += x.Count
	}
	require.Equal(t, map[rule.DecisionKind]int64{rule.Scheduled: 1, rule.Cancelled: 1}, kinds)
}
