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

// TestACalendarDelayInUsersZonesIsNoFalseWarning: "tomorrow at 09:00"
// read in UTC falls after an end at 05:00 UTC, but a Directory's users in
// Tokyo get it at 00:00 UTC, before the end. Check must not say that no
// trigger can fit when one does; without a Directory (every user in UTC)
// it warns. A delay too long in every zone still warns.
func TestACalendarDelayInUsersZonesIsNoFalseWarning(t *testing.T) {
	ctx := context.Background()
	tokyo := zone(t, "Asia/Tokyo")
	f := rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}},
		Delay: rule.InDaysAt(1, 9, 0), End: connectortest.Start.Add(29 * time.Hour)}
	for _, withDir := range []bool{false, true} {
		var opts []connector.Option
		if withDir {
			opts = append(opts, connector.WithDirectory(connector.LocationFunc(func(context.Context, string) (*time.Location, error) {
				return tokyo, nil
			})))
		}
		h := connectortest.New(t, opts...)
		h.Save(rule.Campaign{ID: "o"}, f)
		h.Publish("f", "o")
		ws, err := h.Engine.Check(ctx)
		require.NoError(t, err)
		if !withDir {
			require.Len(t, ws, 1)
			require.Equal(t, rule.ReasonDelayExceedsDuration, ws[0].Reason)
			continue
		}
		require.Empty(t, ws, "a user in Tokyo triggered now is due before the end")
		h.Track(opened("ann"))
		h.Advance(30 * time.Hour)
		h.RequireSentAt("ann", "f", time.Date(2026, 1, 6, 9, 0, 0, 0, tokyo))
		// A week's wait on a follow-up that ends in three days still warns.
		g := f
		g.ID, g.Delay, g.End = "g", rule.InDaysAt(7, 9, 0), h.Now().Add(3*24*time.Hour)
		h.Save(g)
		h.Publish("g")
		ws, err = h.Engine.Check(ctx)
		require.NoError(t, err)
		var gw []connector.Warning
		for _, w := range ws {
			if w.CampaignID == "g" {
				gw = append(gw, w)
			}
		}
		require.Len(t, gw, 1)
		require.Equal(t, rule.ReasonDelayExceedsDuration, gw[0].Reason)
		require.Contains(t, gw[0].Detail, "in every time zone")
	}
}

// TestASegmentFuncKeepsUsersInOneZoneForWarnings: a SegmentFunc gives no
// zones, every user is in the default location as with no Directory, so
// "tomorrow at 09:00" past an end at 05:00 still warns.
func TestASegmentFuncKeepsUsersInOneZoneForWarnings(t *testing.T) {
	segments := connector.SegmentFunc(func(context.Context, string, string) (bool, error) { return true, nil })
	h := connectortest.New(t, connector.WithDirectory(segments))
	f := rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}},
		Delay: rule.InDaysAt(1, 9, 0), End: connectortest.Start.Add(29 * time.Hour)}
	h.Save(rule.Campaign{ID: "o"}, f)
	h.Publish("f", "o")
	ws, err := h.Engine.Check(context.Background())
	require.NoError(t, err)
	require.Len(t, ws, 1)
	require.Equal(t, rule.ReasonDelayExceedsDuration, ws[0].Reason)
	require.NotContains(t, ws[0].Detail, "in every time zone")
}
