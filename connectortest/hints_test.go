package connectortest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// applyResend applies a newsletter and its resend a day later unless
// opened.
func applyResend(h *connectortest.Harness) {
	h.Apply(rule.Campaign{ID: "newsletter"}, rule.Campaign{
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(24 * time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
	})
}

// An event that names a campaign no one saved (a misspelt CampaignID in
// the test's events) reaches no follow-up: a failure, and Explain, name
// the IDs the user's events used that the engine does not know.
func TestAFailureNamesAnEventsUnknownCampaign(t *testing.T) {
	const line = `events of "ann" named campaigns no one saved: "newsleter" (email_received at 2026-01-05T00:00:00Z): a misspelt CampaignID in the test's events?`
	misspelt := func(h *connectortest.Harness) {
		applyResend(h)
		h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsleter"})
		h.Advance(48 * time.Hour)
	}
	f := outcome(t, misspelt, func(h *connectortest.Harness) { h.RequireSent("ann", "resend") })
	require.True(t, f.failed)
	require.Contains(t, f.msg, line)

	f = outcome(t, misspelt, func(h *connectortest.Harness) { h.Explain("ann", "resend") })
	require.False(t, f.failed)
	require.Len(t, f.logs, 1)
	require.Contains(t, f.logs[0], line)

	// A misspelt exception: the resend goes, and RequireNotSent says why.
	f = outcome(t, func(h *connectortest.Harness) {
		applyResend(h)
		h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
		h.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsleter"})
		h.Advance(48 * time.Hour)
	}, func(h *connectortest.Harness) { h.RequireNotSent("ann", "resend") })
	require.True(t, f.failed)
	require.Contains(t, f.msg, `events of "ann" named campaigns no one saved: "newsleter" (email_opened at`)

	// Events that name known campaigns add no such line.
	f = outcome(t, func(h *connectortest.Harness) {
		applyResend(h)
		h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	}, func(h *connectortest.Harness) { h.RequireSent("ann", "resend") })
	require.True(t, f.failed)
	require.NotContains(t, f.msg, "no one saved")
}

// A chain whose second follow-up triggers on the receipt of the first:
// the engine reports no receipt of what it sends, so a test that forgets
// to track it sees nothing happen, and the failure says what to track.
func TestAFailureNamesAReceiptOfAFollowUpNeverTracked(t *testing.T) {
	chain := func(h *connectortest.Harness) {
		h.Apply(rule.Campaign{ID: "promo"},
			rule.Campaign{ID: "a", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "promo"}}, Delay: rule.After(time.Hour)},
			rule.Campaign{ID: "b", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "a"}}, Delay: rule.After(time.Hour)})
		h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "promo"})
		h.Advance(3 * time.Hour)
	}
	f := outcome(t, chain, func(h *connectortest.Harness) { h.RequireSent("ann", "b") })
	require.True(t, f.failed)
	require.Contains(t, f.msg, `"b" triggers on email_received of "a", which was delivered to "ann", but no decision about "b" followed: the engine reports no receipt of what it sends; track the email_received of "a" as your provider reports it`)

	// Tracked, the receipt triggers b: no such line.
	f = outcome(t, func(h *connectortest.Harness) {
		chain(h)
		h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "a"})
	}, func(h *connectortest.Harness) { h.RequireSent("ann", "b") })
	require.True(t, f.failed) // b waits an hour
	require.NotContains(t, f.msg, "reports no receipt")
}

// A conversion window opens on a receipt the host reports: a test that
// expects a conversion after the engine's delivery alone is told so.
func TestAFailedConversionNamesTheMissingReceipt(t *testing.T) {
	coupon := func(h *connectortest.Harness) {
		h.Apply(rule.Campaign{ID: "push"}, rule.Campaign{
			ID:          "coupon",
			Triggers:    []rule.Trigger{{Kind: event.PushOpened, CampaignID: "push"}},
			Delay:       rule.After(time.Hour),
			Conversions: []rule.Conversion{{ID: "bought", Kind: event.Purchase}},
		})
		h.Track(event.Event{UserID: "ann", Kind: event.PushOpened, CampaignID: "push"})
		h.Advance(time.Hour)
	}
	want := `no conversion window of "coupon" is open for "ann": one opens on a receipt of "coupon" (push_received, email_received…) that you track, or on its control group; the engine reports no receipt of what it sends`
	f := outcome(t, func(h *connectortest.Harness) {
		coupon(h)
		h.Track(event.Event{UserID: "ann", Kind: event.Purchase})
	}, func(h *connectortest.Harness) { h.RequireReason("ann", "coupon", rule.Converted, "") })
	require.True(t, f.failed)
	require.Contains(t, f.msg, want)

	// With the receipt tracked, the window is open: the failure (no
	// purchase yet) does not claim it is missing.
	f = outcome(t, func(h *connectortest.Harness) {
		coupon(h)
		h.Track(event.Event{UserID: "ann", Kind: event.PushReceived, CampaignID: "coupon"})
	}, func(h *connectortest.Harness) { h.RequireReason("ann", "coupon", rule.Converted, "") })
	require.True(t, f.failed)
	require.NotContains(t, f.msg, "no conversion window")
	require.True(t, strings.Contains(f.msg, "timeline:"))
}

// RequireNotSent passes while the pair's delivery still waits for its due
// time (a test that forgot to advance past it, or whose exception named a
// misspelt campaign): it says so in the test's log, without failing,
// naming the delivery's due time and the events' unknown campaigns.
func TestRequireNotSentLogsADeliveryStillWaiting(t *testing.T) {
	f := outcome(t, func(h *connectortest.Harness) {
		applyResend(h)
		h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
		h.Advance(time.Hour)
		h.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsleter"})
	}, func(h *connectortest.Harness) { h.RequireNotSent("ann", "resend") })
	require.False(t, f.failed, f.msg)
	require.Len(t, f.logs, 1)
	require.Contains(t, f.logs[0], `connectortest: RequireNotSent passes, but a delivery of "resend" to "ann" is still waiting, `+
		`due at 2026-01-06T00:00:00Z (the clock is at 2026-01-05T01:00:00Z): advance the clock past it to assert that it is never sent`)
	require.Contains(t, f.logs[0], `events of "ann" named campaigns no one saved: "newsleter"`)

	// Due, but never ticked: a Tick would send it.
	f = outcome(t, func(h *connectortest.Harness) {
		applyResend(h)
		h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
		h.Clock.Add(24 * time.Hour)
	}, func(h *connectortest.Harness) { h.RequireNotSent("ann", "resend") })
	require.False(t, f.failed, f.msg)
	require.Equal(t, []string{`connectortest: RequireNotSent passes, but a delivery of "resend" to "ann" is still waiting, ` +
		`due at 2026-01-06T00:00:00Z (the clock is at 2026-01-06T00:00:00Z): nothing ticked since it fell due: call h.Advance or h.Tick first`}, f.logs)

	// Once the exception cancelled it, nothing waits: nothing to say.
	f = outcome(t, func(h *connectortest.Harness) {
		applyResend(h)
		h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
		h.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter"})
	}, func(h *connectortest.Harness) { h.RequireNotSent("ann", "resend") })
	require.False(t, f.failed, f.msg)
	require.Empty(t, f.logs)
}

// A delivery held past its due time (quiet hours that defer it, allowed
// lateness, a retry after a failed send) is logged with the time it is
// held until, and the clock is to be advanced past that time, not past
// the due time, which may have gone by already.
func TestRequireNotSentLogsWhenAHeldDeliveryIsNextTried(t *testing.T) {
	track := func(h *connectortest.Harness) {
		applyResend(h)
		h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	}
	notSent := func(h *connectortest.Harness) { h.RequireNotSent("ann", "resend") }

	// Due at midnight, in quiet hours until 08:00.
	f := outcome(t, func(h *connectortest.Harness) { track(h); h.Advance(26 * time.Hour) }, notSent,
		connector.WithQuietHours(connector.QuietHours{From: rule.At(22, 0), To: rule.At(8, 0), Defer: true}))
	require.False(t, f.failed, f.msg)
	require.Equal(t, []string{`connectortest: RequireNotSent passes, but a delivery of "resend" to "ann" is still waiting, ` +
		`due at 2026-01-06T00:00:00Z, held until 2026-01-06T08:00:00Z (the clock is at 2026-01-06T02:00:00Z): ` +
		`advance the clock past 2026-01-06T08:00:00Z to assert that it is never sent`}, f.logs)

	// Held an hour after its due time, never tried yet.
	f = outcome(t, track, notSent, connector.WithAllowedLateness(time.Hour))
	require.False(t, f.failed, f.msg)
	require.Equal(t, []string{`connectortest: RequireNotSent passes, but a delivery of "resend" to "ann" is still waiting, ` +
		`due at 2026-01-06T00:00:00Z, held until 2026-01-06T01:00:00Z (the clock is at 2026-01-05T00:00:00Z): ` +
		`advance the clock past 2026-01-06T01:00:00Z to assert that it is never sent`}, f.logs)

	// Its send failed once: retried a minute later.
	f = outcome(t, func(h *connectortest.Harness) {
		h.Sender.Fail = func(connector.Delivery) error { return errors.New("provider down") }
		track(h)
		h.Advance(24*time.Hour + 30*time.Second)
	}, notSent)
	require.False(t, f.failed, f.msg)
	require.Equal(t, []string{`connectortest: RequireNotSent passes, but a delivery of "resend" to "ann" is still waiting, ` +
		`due at 2026-01-06T00:00:00Z, next tried at 2026-01-06T00:01:00Z after 1 failed attempt (the clock is at 2026-01-06T00:00:30Z): ` +
		`advance the clock past 2026-01-06T00:01:00Z to assert that it is never sent`}, f.logs)
}

// A delivery held out in the control group waits like any other but is
// never sent: RequireNotSent passes about it without a line in the test's
// log, while one of a user outside the group is logged.
func TestRequireNotSentLogsNoControlGroupDelivery(t *testing.T) {
	track := func(percent int) func(h *connectortest.Harness) {
		return func(h *connectortest.Harness) {
			h.Apply(rule.Campaign{ID: "newsletter"}, rule.Campaign{
				ID:             "resend",
				Triggers:       []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
				Delay:          rule.After(24 * time.Hour),
				ControlPercent: percent,
			})
			h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
		}
	}
	notSent := func(h *connectortest.Harness) {
		h.RequirePendingAt("ann", "resend", connectortest.Start.Add(24*time.Hour))
		h.RequireNotSent("ann", "resend")
	}

	f := outcome(t, track(100), notSent)
	require.False(t, f.failed, f.msg)
	require.Empty(t, f.logs)

	f = outcome(t, track(0), notSent)
	require.False(t, f.failed, f.msg)
	require.Len(t, f.logs, 1)
	require.Contains(t, f.logs[0], `a delivery of "resend" to "ann" is still waiting`)
}
