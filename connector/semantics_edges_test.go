package connector_test

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// A backdated trigger is due at once, says late, is sent once.
func TestABackdatedTriggerIsSentOnceAtOnce(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.InDaysAt(0, 8, 0) })
	h.AdvanceTo(connectortest.Start.Add(14 * time.Hour))
	h.Track(opened("u"))
	h.Tick()
	h.Tick()
	h.Advance(48 * time.Hour)
	h.RequireSentAt("u", "f", connectortest.Start.Add(14*time.Hour))
	d := h.RequireReason("u", "f", rule.Scheduled, rule.ReasonLate)
	require.Contains(t, d.Detail, "late by 6h0m0s")
	h.RequireKinds("u", "f", "scheduled/late", "delivered")
}

// A trigger exactly at Start counts; a due time exactly at End does not,
// a nanosecond before it does.
func TestDurationEdgesToTheNanosecond(t *testing.T) {
	start := connectortest.Start.Add(time.Hour)
	end := start.Add(2 * time.Hour)
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour); c.Start = start; c.End = end })
	h.AdvanceTo(end)
	h.TrackAt(start.Add(-time.Nanosecond), opened("early"))
	h.TrackAt(start, opened("atstart"))
	h.TrackAt(end.Add(-time.Hour), opened("dueatend"))
	h.TrackAt(end.Add(-time.Hour-time.Nanosecond), opened("duejustbefore"))
	h.Advance(time.Hour)
	h.RequireKinds("early", "f", "suppressed/outside_duration")
	h.RequireSent("atstart", "f")
	h.RequireKinds("dueatend", "f", "suppressed/outside_duration")
	h.RequireSent("duejustbefore", "f")
}

// Re-eligibility W = 0: a trigger exactly at the receipt schedules, one a
// nanosecond before does not.
func TestReeligibleAfterZeroCountsFromTheSend(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour); c.Reeligibility = rule.ReeligibleAfter(0) })
	h.Track(opened("u"))
	h.Advance(time.Hour)
	sent := connectortest.Start.Add(time.Hour)
	h.RequireSentAt("u", "f", sent)
	h.TrackAt(sent.Add(-time.Nanosecond), event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "o", ID: "a"})
	h.TrackAt(sent, event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "o", ID: "b"})
	h.RequireKinds("u", "f", "scheduled", "delivered", "suppressed/not_reeligible", "scheduled")
}

// An event stamped before activation, reported later, is suppressed.
func TestAnEventStampedBeforeActivationReportedLater(t *testing.T) {
	h := connectortest.New(t)
	h.Advance(time.Hour)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour) })
	act := h.Now()
	h.Advance(time.Hour)
	h.TrackAt(act.Add(-time.Nanosecond), event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "o", ID: "a"})
	h.TrackAt(act, event.Event{UserID: "v", Kind: event.EmailOpened, CampaignID: "o", ID: "b"})
	h.Advance(time.Hour)
	h.RequireKinds("u", "f", "suppressed/before_activation")
	h.RequireSent("v", "f")
}

// A late trigger reported after End whose computed due time is before End
// is scheduled and sent at once: End bounds the due time.
func TestALateTriggerDueBeforeEndIsSentAfterIt(t *testing.T) {
	end := connectortest.Start.Add(48 * time.Hour)
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour); c.End = end })
	h.Advance(time.Hour)
	at := h.Now()
	h.AdvanceTo(end.Add(10 * 24 * time.Hour))
	h.TrackAt(at, opened("u"))
	h.Tick()
	h.RequireSentAt("u", "f", end.Add(10*24*time.Hour))
	h.RequireKinds("u", "f", "scheduled/late", "delivered")
}

// A visit after the due time, before the send (held by allowed lateness),
// is too late to cancel and, under KeepFirst, schedules nothing, even for
// a re-eligible follow-up.
func TestARepeatBetweenDueTimeAndSendSchedulesNothing(t *testing.T) {
	h := started(t, func(c *rule.Campaign) {
		visitCampaign(rule.KeepFirst)(c)
		c.Reeligibility = rule.ReeligibleAfter(0)
	}, connector.WithAllowedLateness(30*time.Minute))
	t0 := h.Now()
	h.Track(visit("u", "a", t0))
	h.AdvanceTo(t0.Add(70 * time.Minute))
	h.Track(visit("u", "b", h.Now()))
	h.Advance(5 * time.Hour)
	h.RequireKinds("u", "f", "scheduled", "ignored/after_due", "suppressed/already_pending", "delivered")
}

// The same at the due instant, processed before the Tick.
func TestARepeatAtTheDueInstantSchedulesNothing(t *testing.T) {
	h := started(t, func(c *rule.Campaign) {
		visitCampaign(rule.KeepFirst)(c)
		c.Reeligibility = rule.ReeligibleAfter(0)
	})
	t0 := h.Now()
	h.Track(visit("u", "a", t0))
	h.MoveTo(t0.Add(time.Hour))
	h.Track(visit("u", "b", h.Now()))
	h.Advance(5 * time.Hour)
	h.RequireKinds("u", "f", "scheduled", "ignored/after_due", "suppressed/already_pending", "delivered")
}

// An edit while deliveries wait: the new delay and End leave them alone,
// and an added exception cancels one, for an event stamped before the edit.
func TestAnEditWhileDeliveriesWait(t *testing.T) {
	h := connectortest.New(t)
	f := rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}, Delay: rule.After(2 * time.Hour)}
	h.Save(rule.Campaign{ID: "o"}, f)
	h.Publish("f", "o")
	h.Track(opened("u"), opened("v"))
	h.Advance(30 * time.Minute)
	// An exception added by an edit, for an event stamped before the edit.
	f.Exceptions = []rule.Exception{{Kind: event.Purchase}}
	f.Delay = rule.After(time.Hour)
	f.End = connectortest.Start.Add(90 * time.Minute)
	stamp := h.Now().Add(-10 * time.Minute)
	h.Advance(10 * time.Minute)
	h.Save(f)
	h.TrackAt(stamp, event.Event{UserID: "u", Kind: event.Purchase})
	h.Advance(3 * time.Hour)
	h.RequireNotSent("u", "f")
	h.RequireSentAt("v", "f", connectortest.Start.Add(2*time.Hour))
}

// A trigger exactly the maximum age old counts; a nanosecond older does not.
func TestMaxTriggerAgeToTheNanosecond(t *testing.T) {
	h := connectortest.New(t, connector.WithMaxTriggerAge(time.Hour))
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour); c.Reeligibility = rule.ReeligibleAfter(0) })
	h.Advance(2 * time.Hour)
	h.TrackAt(h.Now().Add(-time.Hour), event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "o", ID: "1"})
	h.TrackAt(h.Now().Add(-time.Hour-time.Nanosecond), event.Event{UserID: "v", Kind: event.EmailOpened, CampaignID: "o", ID: "2"})
	h.Tick()
	h.RequireSent("u", "f")
	h.RequireKinds("v", "f", "suppressed/trigger_too_old")
}

// Published again after a stop, a follow-up counts from its new
// activation: an event stamped while it was first active, reported after,
// is before activation.
func TestARepublishedFollowUpCountsFromItsNewActivation(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour) })
	h.Advance(time.Hour)
	stamp := h.Now()
	h.Stop("f")
	h.Advance(time.Hour)
	h.Publish("f")
	h.Advance(time.Hour)
	h.TrackAt(stamp, opened("u"))
	h.Advance(2 * time.Hour)
	h.RequireKinds("u", "f", "suppressed/before_activation")
}
