package connectortest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// An event stamped after the harness clock is tracked as given, and the
// test's log says how far ahead it is; events stamped at or before the
// clock's now log nothing.
func TestTrackLogsAnEventStampedAheadOfTheClock(t *testing.T) {
	f := outcome(t, resendScenario, func(h *connectortest.Harness) {
		now := h.Clock.Now()
		h.Track(event.Event{UserID: "cid", Kind: event.EmailReceived, CampaignID: "newsletter", Time: now})
		h.TrackAt(now.Add(-time.Hour), event.Event{UserID: "dan", Kind: event.EmailReceived, CampaignID: "newsletter"})
		h.TrackAt(now.Add(90*time.Minute), event.Event{UserID: "eve", Kind: event.EmailReceived, CampaignID: "newsletter"})
		h.RequirePendingAt("eve", "resend", now.Add(90*time.Minute+24*time.Hour))
	})
	require.False(t, f.failed, f.msg)
	var ahead []string
	for _, l := range f.logs {
		if strings.Contains(l, "stamped") {
			ahead = append(ahead, l)
		}
	}
	require.Len(t, ahead, 1, "only eve's event was stamped ahead of the clock: %q", f.logs)
	require.Contains(t, ahead[0], `email_received of "newsletter" by "eve"`)
	require.Contains(t, ahead[0], "1h30m0s after the harness clock")
}

// Under WithMaxTriggerLead, a trigger stamped further ahead than the lead is
// suppressed rather than judged by its stamp: the log line about the stamp
// says that this option refuses it, so that it does not contradict the
// trigger_too_far_ahead decision that follows.
func TestTrackLogNamesTheMaxTriggerLead(t *testing.T) {
	f := outcome(t, resendScenario, func(h *connectortest.Harness) {
		now := h.Clock.Now()
		h.TrackAt(now.Add(2*time.Hour), event.Event{UserID: "eve", Kind: event.EmailReceived, CampaignID: "newsletter"})
		h.RequireReason("eve", "resend", rule.Suppressed, rule.ReasonTriggerTooFarAhead)
	}, connector.WithMaxTriggerLead(time.Hour))
	require.False(t, f.failed, f.msg)
	var ahead []string
	for _, l := range f.logs {
		if strings.Contains(l, "stamped") {
			ahead = append(ahead, l)
		}
	}
	require.Len(t, ahead, 1, "eve's event was stamped ahead of the clock: %q", f.logs)
	require.Contains(t, ahead[0], "WithMaxTriggerLead")
}
