package connector_test

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// An exception cancels whatever the state of the campaign it names: opens
// of a newsletter keep coming after it is stopped or archived, and the
// campaign an exception names may never have been published.
func TestAnExceptionCountsWhateverTheStateOfItsCampaign(t *testing.T) {
	cases := []struct {
		name  string
		named string                         // the campaign the exception names
		then  func(h *connectortest.Harness) // after the trigger, before the exception
	}{
		{"stopped", "newsletter", func(h *connectortest.Harness) { h.Stop("newsletter") }},
		{"archived", "newsletter", func(h *connectortest.Harness) { h.Archive("newsletter") }},
		{"draft", "promo", func(*connectortest.Harness) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := started(t, nil)
			h.Save(rule.Campaign{ID: "promo"}, waitCampaign(func(c *rule.Campaign) {
				c.Exceptions = []rule.Exception{{Kind: event.EmailOpened, CampaignID: tc.named}}
			})[1])
			h.Track(interaction("u", event.EmailReceived, "newsletter"))
			tc.then(h)
			h.Advance(10 * time.Minute)
			h.Track(interaction("u", event.EmailOpened, tc.named))
			h.Advance(2 * time.Hour)
			h.RequireNotSent("u", "f")
			h.RequireKinds("u", "f", "scheduled", "cancelled/exception")
		})
	}
}

// Under allowed lateness a delivery goes out after its due time, and the
// re-eligibility window counts from that send, not from the due time.
func TestReeligibilityCountsFromTheSendUnderAllowedLateness(t *testing.T) {
	h := started(t, func(c *rule.Campaign) { c.Reeligibility = rule.ReeligibleAfter(24 * time.Hour) },
		connector.WithAllowedLateness(30*time.Minute))
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Advance(2 * time.Hour)
	sent := connectortest.Start.Add(90 * time.Minute) // due at 01:00, held 30 minutes
	h.RequireSentAt("u", "f", sent)
	h.AdvanceTo(sent.Add(24*time.Hour - time.Nanosecond))
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.AdvanceTo(sent.Add(24 * time.Hour))
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.RequireKinds("u", "f", "scheduled", "delivered", "suppressed/not_reeligible", "scheduled")
}

// A weekday delay reads the trigger's date in the user's zone: Sunday
// 23:30 in UTC is Monday 00:30 in Paris, a Monday, so "next Monday" is a
// week later, not the next day.
func TestNextWeekdayIsJudgedOnTheUsersDate(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	dir := newDirectory()
	dir.zones["u"] = paris
	h := connectortest.New(t, connector.WithDirectory(dir))
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.NextWeekdayAt(time.Monday, 9, 0) })
	h.AdvanceTo(time.Date(2026, 1, 11, 23, 30, 0, 0, time.UTC)) // Sunday in UTC
	h.Track(opened("u"))
	h.Advance(9 * 24 * time.Hour)
	h.RequireSentAt("u", "f", time.Date(2026, 1, 19, 9, 0, 0, 0, paris))
}
