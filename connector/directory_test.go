package connector_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

func TestLocationFuncGivesZonesAndRefusesAudiences(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	zones := connector.LocationFunc(func(_ context.Context, userID string) (*time.Location, error) {
		if userID == "kenji" {
			return tokyo, nil
		}
		return nil, nil // the engine's default
	})
	h := connectortest.New(t, connector.WithDirectory(zones))
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.InDaysAt(1, 9, 0) })
	h.Track(opened("kenji"), opened("ann"))
	h.Advance(2 * day)
	h.RequireSentAt("kenji", "f", time.Date(2026, 1, 6, 9, 0, 0, 0, tokyo))
	h.RequireSentAt("ann", "f", time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC))

	// A campaign with an audience fails at Save: a zones-only directory
	// would leave every user out of it.
	err := h.Engine.Save(context.Background(), rule.Campaign{ID: "vip_only", Audience: "vips",
		Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}})
	require.ErrorIs(t, err, connector.ErrNoDirectory)
	var ve *rule.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "audience", ve.Field)
	require.Contains(t, err.Error(), `connector: save "vip_only": audience: audience "vips" needs a Directory that resolves segments`)
	_, err = h.Engine.Campaign(context.Background(), "vip_only")
	require.ErrorIs(t, err, connector.ErrUnknownCampaign, "nothing stored")

	// One saved by an engine with a full directory fails Track loudly.
	in, err := zones.InSegment(context.Background(), "ann", "vips")
	require.ErrorIs(t, err, connector.ErrNoDirectory)
	require.False(t, in)
}

func TestSegmentFuncGivesSegmentsInTheDefaultLocation(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	vips := connector.SegmentFunc(func(_ context.Context, userID, segment string) (bool, error) {
		if segment != "vips" {
			return false, errors.New("no such segment")
		}
		return userID == "vip", nil
	})
	h := connectortest.New(t, connector.WithDirectory(vips), connector.WithLocation(paris))
	followUp(h, func(c *rule.Campaign) { c.Audience, c.Delay = "vips", rule.InDaysAt(1, 9, 0) })
	h.Track(opened("vip"), opened("other"))
	h.Advance(2 * day)
	h.RequireSentAt("vip", "f", time.Date(2026, 1, 6, 9, 0, 0, 0, paris))
	h.RequireReason("other", "f", rule.Suppressed, rule.ReasonNotInAudience)
	loc, err := vips.Location(context.Background(), "vip")
	require.NoError(t, err)
	require.Nil(t, loc)
}

func TestSaveErrorsNameTheCampaignAndTheField(t *testing.T) {
	h := connectortest.New(t)
	h.Save(rule.Campaign{ID: "newsletter"})
	ctx := context.Background()

	err := h.Engine.Save(ctx, rule.Campaign{ID: "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:    rule.After(-time.Hour),
		Channel:  "sms2",
	})
	require.Error(t, err)
	lines := splitLines(err.Error())
	require.Len(t, lines, 2)
	for _, l := range lines {
		require.Contains(t, l, `connector: save "resend": `, "every problem names the campaign")
		require.NotContains(t, l, `: campaign: `, "and only once")
	}
	require.Contains(t, err.Error(), `connector: save "resend": delay.after: -1h0m0s is outside`)
	require.Contains(t, err.Error(), `connector: save "resend": channel: unknown channel "sms2" (did you mean "sms"?)`)
	var ve *rule.ValidationError
	require.ErrorAs(t, err, &ve)

	err = h.Engine.Save(ctx, rule.Campaign{ID: "resend", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsleter"}}})
	require.ErrorIs(t, err, connector.ErrUnknownCampaign)
	require.EqualError(t, err, `connector: save "resend": triggers[0].campaign_id: campaign "newsleter" is not known (did you mean "newsletter"?) (connector: unknown campaign)`)

	h.Archive("newsletter")
	err = h.Engine.Save(ctx, rule.Campaign{ID: "newsletter"})
	require.ErrorIs(t, err, connector.ErrInvalidTransition)
	require.Contains(t, err.Error(), `save "newsletter"`)

	_, err = h.Engine.Campaign(ctx, "resend")
	require.ErrorIs(t, err, connector.ErrUnknownCampaign)
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
