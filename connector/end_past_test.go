package connector_test

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/rule"
)

// TestADeferralMayTakeADeliveryPastEnd: End bounds the due time when the
// delivery is scheduled; a deferral at send time may take it past End.
func TestADeferralMayTakeADeliveryPastEnd(t *testing.T) {
	start := connectortest.Start // 00:00 UTC
	end := start.Add(23 * time.Hour)
	h := connectortest.New(t, connector.WithQuietHours(connector.QuietHours{From: rule.At(21, 0), To: rule.At(8, 0), Defer: true}))
	followUp(h, func(c *rule.Campaign) { c.Delay, c.End = rule.After(22*time.Hour), end })
	h.Track(opened("u"))
	h.AdvanceTo(start.Add(48 * time.Hour))
	h.RequireKinds("u", "f", "scheduled", "deferred/quiet_hours", "delivered")
	h.RequireSentAt("u", "f", start.Add(32*time.Hour)) // 08:00 the next day: 9 hours past End
}
