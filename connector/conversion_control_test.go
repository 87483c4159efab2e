package connector_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// A conversion of a user held out in the control group carries the reason
// control_group, in its decision, its detail, its explanation and its
// tally; a conversion of a user sent the message carries none, and so does
// one of a window stored before windows were marked.
func TestConversionOfControlGroupUser(t *testing.T) {
	ctx := context.Background()
	conv := []rule.Conversion{{ID: "bought", Kind: event.Purchase, Deadline: 72 * time.Hour}}
	buy := func(user string) event.Event { return event.Event{UserID: user, Kind: event.Purchase, Name: "sku"} }
	// tallied counts campaign's conversions tallied, per reason.
	tallied := func(h *connectortest.Harness, campaign string) map[rule.Reason]int64 {
		require.NoError(t, h.Engine.FlushTallies(ctx))
		ts, err := h.Engine.Tallies(ctx, store.TallyQuery{CampaignID: campaign, Kinds: []rule.DecisionKind{rule.Converted}})
		require.NoError(t, err)
		out := map[rule.Reason]int64{}
		for _, x := range ts {
			out[x.Reason] += x.Count
		}
		return out
	}

	t.Run("held out by the engine, sent by the engine", func(t *testing.T) {
		h := connectortest.New(t)
		h.Apply(
			rule.Campaign{ID: "newsletter"},
			rule.Campaign{ID: "held", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
				ControlPercent: 100, Conversions: conv},
			rule.Campaign{ID: "sent", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
				Conversions: conv},
		)
		h.Track(event.Event{UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter"})
		h.Tick() // "held" holds u out, which opens its window; "sent" sends
		h.RequireReason("u", "held", rule.HeldOut, rule.ReasonControlGroup)
		h.RequireSent("u", "sent")
		h.Track(event.Event{UserID: "u", Kind: event.EmailReceived, CampaignID: "sent"}) // the host's receipt
		h.Advance(time.Hour)
		h.Track(buy("u"))

		c := h.RequireReason("u", "held", rule.Converted, rule.ReasonControlGroup)
		require.Equal(t, "held out in the control group at "+connectortest.Start.Format(time.RFC3339), c.Detail)
		line := h.Explain("u", "held").String()
		require.Contains(t, line, "converted (conversion bought), without the message — held out in the control group at", line)

		s := h.RequireReason("u", "sent", rule.Converted, "")
		require.Empty(t, s.Reason, "a conversion of a user sent the message")
		require.True(t, strings.HasPrefix(s.Detail, "received at "), s.Detail)
		require.NotContains(t, h.Explain("u", "sent").String(), "without the message")

		require.Equal(t, map[rule.Reason]int64{rule.ReasonControlGroup: 1}, tallied(h, "held"))
		require.Equal(t, map[rule.Reason]int64{"": 1}, tallied(h, "sent"))
	})

	t.Run("held out as the host reports it", func(t *testing.T) {
		h := connectortest.New(t)
		h.Apply(rule.Campaign{ID: "promo", Conversions: conv})
		h.Track(event.Event{UserID: "held", Kind: event.ControlGroupEnrolled, CampaignID: "promo"})
		h.Track(event.Event{UserID: "sent", Kind: event.EmailReceived, CampaignID: "promo"})
		h.Advance(time.Hour)
		h.Track(buy("held"), buy("sent"))
		h.RequireReason("held", "promo", rule.Converted, rule.ReasonControlGroup)
		h.RequireNoReason("sent", "promo", rule.Converted, rule.ReasonControlGroup)
		h.RequireReason("sent", "promo", rule.Converted, "")
		require.Equal(t, map[rule.Reason]int64{rule.ReasonControlGroup: 1, "": 1}, tallied(h, "promo"))
	})

	t.Run("a window stored without the mark counts as a receipt's", func(t *testing.T) {
		h := connectortest.New(t)
		h.Apply(rule.Campaign{ID: "promo", Conversions: conv})
		require.NoError(t, h.Store.Update(ctx, "", "old", h.Clock.Now(), store.Dedup{}, func(u *store.UserState, _ bool) {
			u.Conversions = append(u.Conversions, store.ConversionWindow{CampaignID: "promo", ConversionID: "bought",
				Opened: connectortest.Start, Deadline: connectortest.Start.Add(72 * time.Hour)})
		}))
		h.Advance(time.Hour)
		h.Track(buy("old"))
		c := h.RequireReason("old", "promo", rule.Converted, "")
		require.Empty(t, c.Reason)
		require.Equal(t, map[rule.Reason]int64{"": 1}, tallied(h, "promo"))
	})
}
