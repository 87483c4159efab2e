package connector_test

import (
	"errors"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// TestQuietHoursDetailSaysWhichAndWhen: a delivery dropped or deferred for
// quiet hours says, after what its detail said before (until when, or why
// it was not deferred), which quiet hours, read in which zone (the
// directory's, or the engine's default for a user it has none for), and
// the local time the delivery would have gone at.
func TestQuietHoursDetailSaysWhichAndWhen(t *testing.T) {
	ny, paris := zone(t, "America/New_York"), zone(t, "Europe/Paris")
	dir := newDirectory()
	dir.zones["u"] = ny
	for _, tc := range []struct {
		name        string
		user        string
		loc         *time.Location
		deferIt     bool
		maxDeferral time.Duration
		kind        rule.DecisionKind
		want        string
	}{
		{"dropped, the directory's zone", "u", ny, false, 0, rule.Suppressed,
			"quiet hours 22:00–07:00 in America/New_York (directory), at Tue 22:30 local"},
		{"deferred, the engine's default zone", "nozone", paris, true, 0, rule.Deferred,
			"until 2026-01-07T06:00:00Z; quiet hours 22:00–07:00 in Europe/Paris (engine default), at Tue 22:30 local"},
		{"dropped past the maximum deferral", "u", ny, true, time.Hour, rule.Suppressed,
			"would wait past the maximum deferral of 1h0m0s; quiet hours 22:00–07:00 in America/New_York (directory), at Tue 22:30 local"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []connector.Option{connector.WithDirectory(dir), connector.WithLocation(paris),
				connector.WithQuietHours(connector.QuietHours{From: rule.At(22, 0), To: rule.At(7, 0), Defer: tc.deferIt})}
			if tc.maxDeferral > 0 {
				opts = append(opts, connector.WithMaxDeferral(tc.maxDeferral))
			}
			h := connectortest.New(t, opts...)
			followUp(h, nil)
			h.AdvanceTo(time.Date(2026, 1, 6, 22, 30, 0, 0, tc.loc)) // a Tuesday
			h.Track(opened(tc.user))
			h.Tick()
			d := h.RequireReason(tc.user, "f", tc.kind, rule.ReasonQuietHours)
			require.Equal(t, tc.want, d.Detail)
		})
	}
}

// TestSendWindowDetailSaysWhere: a delivery a send window turns down, when
// its trigger is processed or when it is sent, says in which zone the
// window was read and the local time it was judged at.
func TestSendWindowDetailSaysWhere(t *testing.T) {
	ny, paris := zone(t, "America/New_York"), zone(t, "Europe/Paris")
	dir := newDirectory()
	dir.zones["u"] = ny
	newH := func(t *testing.T, nextAvailable bool) *connectortest.Harness {
		h := connectortest.New(t, connector.WithDirectory(dir), connector.WithLocation(paris))
		followUp(h, func(c *rule.Campaign) {
			c.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(17, 0), NextAvailable: nextAvailable}
		})
		return h
	}

	t.Run("when the trigger is processed", func(t *testing.T) {
		h := newH(t, false)
		at := time.Date(2026, 1, 6, 8, 59, 0, 0, ny)
		h.AdvanceTo(at)
		h.Track(opened("u"))
		d := h.RequireReason("u", "f", rule.Suppressed, rule.ReasonOutsideSendWindow)
		require.Equal(t, "due 2026-01-06T13:59:00Z, window 09:00–17:00 in America/New_York (directory), at Tue 08:59 local", d.Detail)
	})

	t.Run("a retry pushed out of the window, dropped", func(t *testing.T) {
		h := newH(t, false)
		h.Sender.Fail = func(connector.Delivery) error { return errors.New("busy") }
		h.AdvanceTo(time.Date(2026, 1, 6, 16, 59, 0, 0, paris))
		h.Track(opened("nozone"))
		h.Advance(time.Minute) // the retry at 17:00 is outside
		d := h.RequireReason("nozone", "f", rule.Suppressed, rule.ReasonOutsideSendWindow)
		require.Equal(t, "send window 09:00–17:00 in Europe/Paris (engine default), at Tue 17:00 local", d.Detail)
	})

	t.Run("a retry pushed out of the window, deferred", func(t *testing.T) {
		h := newH(t, true)
		h.Sender.Fail = func(d connector.Delivery) error {
			if d.Attempt == 1 {
				return errors.New("busy")
			}
			return nil
		}
		h.AdvanceTo(time.Date(2026, 1, 6, 16, 59, 0, 0, ny))
		h.Track(opened("u"))
		h.Advance(time.Minute)
		d := h.RequireReason("u", "f", rule.Deferred, rule.ReasonOutsideSendWindow)
		require.Equal(t, "until 2026-01-07T14:00:00Z; send window 09:00–17:00 in America/New_York (directory), at Tue 17:00 local", d.Detail)
	})
}

// TestRateLimitDetailIsAsBefore: a deferral for a rate limit, which has
// no zone, keeps its detail as it was.
func TestRateLimitDetailIsAsBefore(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.RateLimit = 1 })
	h.Track(opened("a"), opened("b"))
	h.Tick()
	d := h.RequireReason("b", "f", rule.Deferred, rule.ReasonRateLimited)
	require.Equal(t, "until "+connectortest.Start.Add(time.Minute).Format(time.RFC3339), d.Detail)
}

// TestWindowDetailNamesAnUnnamedZone: a zone without a name (a fixed
// offset made with time.FixedZone("", …), a zero time.Location) is
// named by its offset from UTC, not left blank.
func TestWindowDetailNamesAnUnnamedZone(t *testing.T) {
	dir := newDirectory()
	offset := time.FixedZone("", -5*3600)
	dir.zones["u"] = offset
	h := connectortest.New(t, connector.WithDirectory(dir),
		connector.WithQuietHours(connector.QuietHours{From: rule.At(22, 0), To: rule.At(7, 0)}))
	followUp(h, nil)
	h.AdvanceTo(time.Date(2026, 1, 6, 22, 30, 0, 0, offset))
	h.Track(opened("u"))
	h.Tick()
	d := h.RequireReason("u", "f", rule.Suppressed, rule.ReasonQuietHours)
	require.Equal(t, "quiet hours 22:00–07:00 in UTC-05:00 (directory), at Tue 22:30 local", d.Detail)
}
