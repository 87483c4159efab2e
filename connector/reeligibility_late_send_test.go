package connector_test

import (
	"errors"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// A delivery due at 01:00 that goes out later, whatever holds it back,
// is received when it goes: the re-eligibility window counts from that
// send, and a trigger a nanosecond before its end is refused while one at
// its end schedules.
func TestReeligibilityCountsFromTheLateSend(t *testing.T) {
	const window = 24 * time.Hour
	start := connectortest.Start // 00:00 UTC; the delivery is due at 01:00
	cases := []struct {
		name  string
		mod   func(*rule.Campaign)
		opts  []connector.Option
		setup func(h *connectortest.Harness)
		run   func(h *connectortest.Harness) // from the trigger to past the send
		sent  time.Time
	}{
		{name: "no tick until 05:00", run: func(h *connectortest.Harness) {
			h.Clock.Add(5 * time.Hour)
			h.Tick()
		}, sent: start.Add(5 * time.Hour)},
		{name: "a send window opening at 09:00", mod: func(c *rule.Campaign) {
			c.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(17, 0), NextAvailable: true}
		}, sent: start.Add(9 * time.Hour)},
		{name: "quiet hours until 08:00", opts: []connector.Option{
			connector.WithQuietHours(connector.QuietHours{From: rule.At(0, 30), To: rule.At(8, 0), Defer: true}),
		}, sent: start.Add(8 * time.Hour)},
		{name: "a rate limit taken by another user", mod: func(c *rule.Campaign) { c.RateLimit = 1 },
			setup: func(h *connectortest.Harness) { h.Track(interaction("first", event.EmailReceived, "newsletter")) },
			sent:  start.Add(61 * time.Minute)},
		{name: "a failed first attempt", setup: func(h *connectortest.Harness) {
			failed := false
			h.Sender.Fail = func(connector.Delivery) error {
				if failed {
					return nil
				}
				failed = true
				return errors.New("provider unavailable")
			}
		}, sent: start.Add(61 * time.Minute)}, // the retry policy waits a minute
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := started(t, func(c *rule.Campaign) {
				c.Exceptions, c.Reeligibility = nil, rule.ReeligibleAfter(window)
				if tc.mod != nil {
					tc.mod(c)
				}
			}, tc.opts...)
			if tc.setup != nil {
				tc.setup(h)
			}
			h.Track(interaction("u", event.EmailReceived, "newsletter"))
			if tc.run != nil {
				tc.run(h)
			} else {
				h.AdvanceTo(tc.sent.Add(time.Hour))
			}
			h.RequireSentAt("u", "f", tc.sent)
			h.AdvanceTo(tc.sent.Add(window))
			h.TrackAt(tc.sent.Add(window-time.Nanosecond), interaction("u", event.EmailReceived, "newsletter"))
			h.RequireReason("u", "f", rule.Suppressed, rule.ReasonNotReeligible)
			h.TrackAt(tc.sent.Add(window), interaction("u", event.EmailReceived, "newsletter"))
			h.RequirePendingAt("u", "f", tc.sent.Add(window+time.Hour))
		})
	}
}
