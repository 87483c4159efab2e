package connector_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

func TestEventNamingAnUnknownCampaignIsReportedAndWritesNothing(t *testing.T) {
	for _, batched := range []bool{false, true} {
		name := "Track"
		if batched {
			name = "TrackAll"
		}
		t.Run(name, func(t *testing.T) {
			h := connectortest.New(t)
			h.Save(resendCampaigns...)
			h.Publish("resend", "newsletter")
			typo := event.Event{ID: "sg-1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsleter"}
			if batched {
				require.NoError(t, h.Engine.TrackAll(context.Background(), []event.Event{typo}))
			} else {
				require.NoError(t, h.Engine.Track(context.Background(), typo))
			}
			d := h.RequireReason("ann", "newsleter", rule.Ignored, rule.ReasonUnknownCampaign)
			require.Equal(t, "sg-1", d.EventID)
			require.Equal(t, event.EmailReceived, d.EventKind)
			require.Equal(t, connectortest.Start, d.EventTime, "an event without a time happened now")
			require.Contains(t, d.Detail, `"newsleter"`)

			stats, err := h.Engine.Stats(context.Background())
			require.NoError(t, err)
			require.Zero(t, stats.Users, "no store write for an event the engine cannot use")
			require.Equal(t, store.EventCounts{Tracked: 1, Ignored: map[rule.Reason]int64{rule.ReasonUnknownCampaign: 1}}, stats.Events)
		})
	}
	t.Run("a known campaign in any state is not unknown", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(resendCampaigns...) // drafts
		h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
		require.Empty(t, h.Decisions())
		require.Equal(t, store.EventCounts{Tracked: 1, Unheard: 1}, h.Engine.EventCounts())
	})
	t.Run("reported with the interaction log and with every ID remembered", func(t *testing.T) {
		h := connectortest.New(t, connector.WithInteractionLog(time.Hour), connector.WithDedupAll())
		h.Track(event.Event{ID: "x", UserID: "ann", Kind: event.EmailOpened, CampaignID: "nope"},
			event.Event{UserID: "bob", Kind: event.EmailOpened, CampaignID: "nope"})
		h.RequireReason("ann", "nope", rule.Ignored, rule.ReasonUnknownCampaign)
		h.RequireReason("bob", "nope", rule.Ignored, rule.ReasonUnknownCampaign)
		require.Equal(t, int64(2), h.Engine.EventCounts().Ignored[rule.ReasonUnknownCampaign])
	})
	// With every ID remembered, a provider's retry of an event nothing
	// hears is a duplicate, and counted so; one naming an unknown
	// campaign is reported each time it arrives, as without.
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprint("a retry with every ID remembered, batch ", batch), func(t *testing.T) {
			h := connectortest.New(t, connector.WithDedupAll())
			h.Save(resendCampaigns...)
			h.Publish("resend", "newsletter")
			typo := event.Event{ID: "x", UserID: "ann", Kind: event.EmailOpened, CampaignID: "nope"}
			unheard := event.Event{ID: "y", UserID: "ann", Kind: event.Purchase}
			for range 2 {
				if batch {
					require.NoError(t, h.Engine.TrackAll(context.Background(), []event.Event{typo, unheard}))
				} else {
					h.Track(typo, unheard)
				}
			}
			require.Len(t, h.DecisionsFor("ann", "nope"), 2, "the typo is reported on each arrival")
			counts := h.Engine.EventCounts()
			require.Equal(t, int64(4), counts.Tracked)
			require.Equal(t, int64(2), counts.Duplicates, "both retries")
			require.Equal(t, int64(2), counts.Ignored[rule.ReasonUnknownCampaign])
		})
	}
}

func TestEventCounts(t *testing.T) {
	h := connectortest.New(t)
	h.Save(resendCampaigns...)
	h.Publish("resend", "newsletter")
	ctx := context.Background()
	rcv := event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}
	h.Track(rcv, rcv)                                                                                                             // the second is a duplicate
	h.Track(event.Event{UserID: "ann", Kind: event.Purchase})                                                                     // nothing listens
	h.Track(event.Event{UserID: "ann", Kind: event.EmailClicked, CampaignID: "resend"})                                           // nothing listens
	h.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "nope"})                                              // unknown campaign
	h.TrackAt(connectortest.Start.Add(-time.Hour), event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter"}) // before the trigger
	require.NoError(t, h.Engine.TrackAll(ctx, []event.Event{
		{UserID: "bob", Kind: event.Purchase},
		{UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter"},
		{UserID: "bob", Kind: event.EmailOpened, CampaignID: "nope"},
	}))
	// Refused events are not counted.
	require.Error(t, h.Engine.TrackAll(ctx, []event.Event{{UserID: "", Kind: event.Purchase}}))
	require.Error(t, h.Engine.Track(ctx, event.Event{UserID: "ann"}))

	want := store.EventCounts{
		Tracked:    9,
		Unheard:    3, // the purchases and the click
		Duplicates: 1,
		Ignored:    map[rule.Reason]int64{rule.ReasonUnknownCampaign: 2, rule.ReasonBeforeTrigger: 1},
	}
	require.Equal(t, want, h.Engine.EventCounts())
	stats, err := h.Engine.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, want, stats.Events)
	require.Equal(t, int64(2), stats.Pending)
}

func TestIgnoredExceptionsAreExplained(t *testing.T) {
	h := connectortest.New(t)
	h.Save(resendCampaigns...)
	h.Publish("resend", "newsletter")
	h.Track(event.Event{ID: "rcv", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.TrackAt(connectortest.Start.Add(-time.Minute), event.Event{ID: "open-early", UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter"})
	x, err := h.Engine.Explain(context.Background(), "ann", "resend")
	require.NoError(t, err)
	require.Contains(t, x.String(), `email_opened (event open-early) at 2026-01-04T23:59:00Z: the exception email_opened of "newsletter" did not cancel: it happened before the trigger`)
	require.Contains(t, x.String(), "the trigger happened at 2026-01-05T00:00:00Z")
}
