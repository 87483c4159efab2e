package connector_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// cancelDown is a memory store whose CancelCampaign fails.
type cancelDown struct{ *store.Memory }

var errCancelDown = errors.New("store down")

func (cancelDown) CancelCampaign(context.Context, string, string) ([]store.Claim, error) {
	return nil, errCancelDown
}

func (cancelDown) CancelCampaignBatch(context.Context, string, string, string, int) ([]store.Claim, string, error) {
	return nil, "", errCancelDown
}

// TestAStopThatCannotCancelSaysSo: when the store fails after a stop
// changed the campaign's state, Stop's error wraps ErrNotCancelled (and
// the cause), so that a caller can tell a stop that took effect from one
// that did not; the delivery left is not sent when it falls due.
func TestAStopThatCannotCancelSaysSo(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	var sent []string
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		sent = append(sent, d.UserID)
		return nil
	})
	e := newEngine(t, cancelDown{store.NewMemory()}, send, clk)
	require.NoError(t, e.Apply(ctx, resendCampaigns))
	require.NoError(t, e.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: clk.Now()}))

	err := e.Stop(ctx, "resend")
	require.EqualError(t, err, `connector: stop "resend": cancelling pending deliveries: store down`)
	require.ErrorIs(t, err, connector.ErrNotCancelled)
	require.ErrorIs(t, err, errCancelDown)
	rec, err := e.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.Equal(t, rule.Stopped, rec.State)

	clk.Add(8 * 24 * time.Hour)
	_, err = e.Tick(ctx)
	require.NoError(t, err)
	require.Empty(t, sent, "a delivery of the stopped campaign was sent")

	// A stop refused by the lifecycle changed nothing: not ErrNotCancelled.
	err = e.Stop(ctx, "resend")
	require.ErrorIs(t, err, connector.ErrInvalidTransition)
	require.NotErrorIs(t, err, connector.ErrNotCancelled)
}
