package connector_test

import (
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// TestPruningGoesOnAfterTheClockStepsBack checks that expired state is
// swept on schedule after the clock is set back (an NTP correction), not
// only once the clock has passed the time of the last sweep again.
func TestPruningGoesOnAfterTheClockStepsBack(t *testing.T) {
	ctx := context.Background()
	h := connectortest.New(t, connector.WithInteractionLog(10*time.Minute), connector.WithPruneInterval(time.Minute))
	h.Save(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}})
	h.Publish("f", "o")
	logged := func() int64 {
		t.Helper()
		st, err := h.Engine.Stats(ctx)
		require.NoError(t, err)
		return st.Interactions
	}

	h.Advance(time.Hour)
	h.Tick() // sweeps: an interval has passed
	h.Clock.Set(h.Now().Add(-time.Hour))
	h.Track(event.Event{UserID: "ann", Kind: event.SessionStart})
	require.Equal(t, int64(1), logged(), "the session start is logged")

	h.Advance(11 * time.Minute) // past the log's retention, an hour before the last sweep's time
	h.Tick()
	require.Zero(t, logged(), "the expired interaction is pruned")
}
