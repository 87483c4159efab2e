package connector_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// beforeCancel is a memory store that runs hook, once, when a campaign's
// deliveries are about to be cancelled: between a stop's change of state
// and its cancellation, the moment another engine can act in.
type beforeCancel struct {
	*store.Memory
	once sync.Once
	hook func()
}

func (s *beforeCancel) CancelCampaign(ctx context.Context, ns, campaignID string) ([]store.Claim, error) {
	s.once.Do(s.hook)
	return s.Memory.CancelCampaign(ctx, ns, campaignID)
}

func (s *beforeCancel) CancelCampaignBatch(ctx context.Context, ns, campaignID, cursor string, limit int) ([]store.Claim, string, error) {
	s.once.Do(s.hook)
	return s.Memory.CancelCampaignBatch(ctx, ns, campaignID, cursor, limit)
}

// TestAStopKeepsTheDeliveriesOfAResumeThatOvertookIt: an engine stops
// "resend"; before its cancellation runs, another engine resumes it and
// tracks a receipt, which schedules a delivery of the new activation. The
// stop cancels the deliveries of the activation it ended, not that one,
// which is sent when due.
func TestAStopKeepsTheDeliveriesOfAResumeThatOvertookIt(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	s := &beforeCancel{Memory: store.NewMemory()}
	var sent []string
	var mu sync.Mutex
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, d.UserID)
		return nil
	})
	stopper := newEngine(t, s, send, clk)
	require.NoError(t, stopper.Apply(ctx, resendCampaigns))
	require.NoError(t, stopper.Track(ctx, event.Event{ID: "r-ann", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: clk.Now()}))

	other := newEngine(t, s, send, clk)
	s.hook = func() {
		require.NoError(t, other.Publish(ctx, "resend"))
		require.NoError(t, other.Track(ctx, event.Event{ID: "r-bob", UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter", Time: clk.Now()}))
	}
	require.NoError(t, stopper.Stop(ctx, "resend"))

	rec, err := other.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.Equal(t, rule.Active, rec.State)
	require.Equal(t, int64(2), rec.Activation)
	bob, err := s.User(ctx, "", "bob")
	require.NoError(t, err, "bob's delivery, scheduled by the resume, was cancelled by the stop")
	require.Len(t, bob.Pending, 1)
	require.Equal(t, int64(2), bob.Pending[0].Activation)
	if ann, err := s.User(ctx, "", "ann"); err == nil {
		require.Empty(t, ann.Pending, "ann's delivery, of the stopped activation, outlived the stop")
	}

	clk.Add(8 * 24 * time.Hour)
	_, err = other.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"bob"}, sent)
}
