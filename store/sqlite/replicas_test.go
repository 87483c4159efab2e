package sqlite_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
)

// TestReplicaApplyingAnAppliedSetTracksAtOnce: two replicas start on one
// file. B reads the (empty) campaign set, A applies the set, then B
// applies it too, finding nothing to do, and tracks an event while its
// store still holds the revision it read first (kept an hour here, so
// that the test does not depend on how fast it runs): the event counts,
// and its follow-up is sent.
func TestReplicaApplyingAnAppliedSetTracksAtOnce(t *testing.T) {
	ctx := context.Background()
	path := testPath(t)
	clk := clock.NewMock()
	clk.Set(t0)
	var sent atomic.Int64
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		sent.Add(1)
		return nil
	})
	engine := func() *connector.Engine {
		e, err := connector.New(openStore(t, path, sqlite.WithRevisionMaxAge(time.Hour)), send, connector.WithClock(clk))
		require.NoError(t, err)
		return e
	}
	a, b := engine(), engine()
	set := []rule.Campaign{
		{ID: "newsletter"},
		{ID: "resend", Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}},
	}
	received := func(user string) event.Event {
		return event.Event{ID: "r-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"}
	}
	require.NoError(t, b.Track(ctx, received("early")))
	require.NoError(t, a.Apply(ctx, set))
	require.NoError(t, b.Apply(ctx, set))
	require.NoError(t, b.Track(ctx, received("ann")))
	require.Empty(t, b.UnknownCampaigns())
	clk.Add(2 * time.Hour)
	n, err := b.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, int64(1), sent.Load(), "ann's resend")
}
