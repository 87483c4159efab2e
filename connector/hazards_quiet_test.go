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

// A send window that lies inside the engine's quiet hours can never send:
// each delivery is deferred from one to the other until the maximum
// deferral drops it. Check says so, and so does publishing the follow-up;
// a window with a minute outside quiet hours, or one that spans the whole
// day, is not a hazard.
func TestCheckFindsASendWindowInsideQuietHours(t *testing.T) {
	quiet := connector.WithQuietHours(connector.QuietHours{From: 20 * 60, To: 8 * 60, Defer: true})
	withWindow := func(from, to rule.TimeOfDay) []rule.Campaign {
		newsletter, resend := resendToNonOpeners()
		resend.SendWindow = &rule.SendWindow{From: from, To: to, NextAvailable: true}
		return []rule.Campaign{newsletter, resend}
	}
	for _, tc := range []struct {
		name     string
		from, to rule.TimeOfDay
		hazard   bool
	}{
		{"evening window in the night's quiet hours", 21 * 60, 23 * 60, true},
		{"overnight window in the night's quiet hours", 22 * 60, 7 * 60, true},
		{"the whole quiet period", 20 * 60, 8 * 60, true},
		{"one minute outside", 7 * 60, 8*60 + 1, false},
		{"ends where quiet hours begin", 18 * 60, 20 * 60, false},
		{"all day", 9 * 60, 9 * 60, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := connectortest.New(t, quiet)
			h.Save(withWindow(tc.from, tc.to)...)
			h.Publish("resend", "newsletter")
			got := reasons(t, h)["resend"]
			if !tc.hazard {
				require.NotContains(t, got, rule.ReasonQuietHours)
				return
			}
			require.Equal(t, []rule.Reason{rule.ReasonQuietHours}, got)
			warned := h.RequireReason("", "resend", rule.Warned, rule.ReasonQuietHours)
			require.Contains(t, warned.Detail, "quiet hours 20:00–08:00")
		})
	}

	t.Run("without quiet hours", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(withWindow(21*60, 23*60)...)
		h.Publish("resend", "newsletter")
		require.Empty(t, reasons(t, h))
	})

	t.Run("the hazard is real: nothing is sent", func(t *testing.T) {
		h := connectortest.New(t, quiet)
		h.Save(withWindow(21*60, 23*60)...)
		h.Publish("resend", "newsletter")
		h.Track(event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
		h.Advance(30 * 24 * time.Hour)
		h.RequireNotSent("ann", "resend")
		ws, err := h.Engine.Check(context.Background())
		require.NoError(t, err)
		require.Len(t, ws, 1)
		require.Contains(t, ws[0].String(), "resend: quiet_hours: the send window 21:00–23:00 lies inside the quiet hours 20:00–08:00")
	})
}
