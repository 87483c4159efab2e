package connector_test

import (
	"context"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// A stop at the due instant, before the Tick that would send, cancels the
// delivery; the resume does not send it; the cancellation is no
// receipt, so a trigger after the resume, stamped at the new activation
// time itself, schedules (at or after the activation counts).
func TestSweepAStopAtTheDueInstant(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour) })
	t0 := h.Now()
	h.Track(opened("u"))
	h.MoveTo(t0.Add(time.Hour))
	h.Stop("f")
	h.Publish("f")
	h.TrackAt(t0.Add(time.Hour), opened("u"))
	h.Advance(3 * time.Hour)
	h.RequireSentTimes("u", "f", 1)
	h.RequireSentAt("u", "f", t0.Add(2*time.Hour))
	h.RequireKinds("u", "f", "scheduled", "cancelled/campaign_stopped", "scheduled", "delivered")
}

// An event stamped at the instant of a stop and tracked while the
// follow-up is stopped is lost for it, even when the follow-up is resumed
// in that same instant.
func TestSweepAnEventTrackedWhileStoppedIsLost(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour) })
	h.Advance(time.Minute)
	h.Stop("f")
	h.Track(opened("u"))
	h.Publish("f")
	h.Advance(3 * time.Hour)
	h.RequireNotSent("u", "f")
	require.Empty(t, h.DecisionsFor("u", "f"), "a stopped follow-up does not listen")
}

// Stopping the original while a follow-up waits leaves the delivery alone:
// the last check looks at the follow-up's state, and the original
// is judged when the trigger is processed.
func TestSweepAStoppedOriginalLeavesTheWaitingDeliveryAlone(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour) })
	t0 := h.Now()
	h.Track(opened("u"))
	h.Advance(30 * time.Minute)
	h.Stop("o")
	h.Track(opened("v"))
	h.Advance(2 * time.Hour)
	h.RequireSentAt("u", "f", t0.Add(time.Hour))
	h.RequireKinds("v", "f", "suppressed/original_not_active")
}

// The eligibility checks run in their documented order (eligibility.md):
// activation before start, start before audience, audience before end,
// pending before re-eligibility.
func TestSweepTheFirstFailingCheckDecides(t *testing.T) {
	t.Run("activation, start, audience, end", func(t *testing.T) {
		dir := newDirectory()
		dir.set("in", "vips", true)
		h := connectortest.New(t, connector.WithDirectory(dir))
		act := h.Now().Add(time.Hour)
		start, end := act.Add(time.Hour), act.Add(5*time.Hour)
		h.Advance(time.Hour)
		followUp(h, func(c *rule.Campaign) {
			c.Delay = rule.After(time.Hour)
			c.Audience = "vips"
			c.Start, c.End = start, end
		})
		h.AdvanceTo(end)
		// Before activation and before Start, out of the audience.
		h.TrackAt(act.Add(-time.Second), opened("out1"))
		// Before Start, out of the audience.
		h.TrackAt(start.Add(-time.Second), opened("out2"))
		// Due exactly at End, out of the audience.
		h.TrackAt(end.Add(-time.Hour), opened("out3"))
		// Due exactly at End, in the audience.
		h.TrackAt(end.Add(-time.Hour), opened("in"))
		h.RequireKinds("out1", "f", "suppressed/before_activation")
		h.RequireKinds("out2", "f", "suppressed/outside_duration")
		h.RequireKinds("out3", "f", "suppressed/not_in_audience")
		h.RequireKinds("in", "f", "suppressed/outside_duration")
	})
	t.Run("pending before re-eligibility", func(t *testing.T) {
		h := connectortest.New(t)
		followUp(h, func(c *rule.Campaign) {
			c.Delay = rule.After(time.Hour)
			c.Reeligibility = rule.ReeligibleAfter(2 * time.Hour)
		})
		t0 := h.Now()
		h.Track(opened("u"))
		h.Advance(3 * time.Hour) // received at 1h: re-eligible from 3h
		h.Track(opened("u"))     // due 4h
		h.Advance(10 * time.Minute)
		// Stamped inside the window and while a delivery waits: the
		// pending policy is checked first.
		h.TrackAt(t0.Add(150*time.Minute), opened("u"))
		h.RequireKinds("u", "f", "scheduled", "delivered", "scheduled", "suppressed/already_pending")
	})
}

// A send window that moves the due time to exactly End leaves nothing
// scheduled; to a nanosecond before End, it schedules (End after the
// window moved the due time).
func TestSweepASendWindowMovingTheDueTimeToEnd(t *testing.T) {
	for _, c := range []struct {
		name  string
		end   time.Duration // after the next opening
		sends bool
	}{{"at End", 0, false}, {"before End", time.Nanosecond, true}} {
		t.Run(c.name, func(t *testing.T) {
			h := connectortest.New(t)
			opening := connectortest.Start.Add(33 * time.Hour) // 09:00 the next day
			followUp(h, func(f *rule.Campaign) {
				f.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 0), NextAvailable: true}
				f.End = opening.Add(c.end)
			})
			h.AdvanceTo(connectortest.Start.Add(20 * time.Hour))
			h.Track(opened("u"))
			h.Advance(24 * time.Hour)
			if c.sends {
				h.RequireSentAt("u", "f", opening)
				return
			}
			h.RequireNotSent("u", "f")
			h.RequireKinds("u", "f", "suppressed/outside_duration")
		})
	}
}

// A hold-out counts as a receipt from the instant it is held out: the
// next trigger inside the re-eligibility window is refused, one at its
// end schedules (delivery-controls.md, control groups).
func TestSweepAHoldOutIsAReceiptAtItsTime(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) {
		c.Delay = rule.After(time.Hour)
		c.ControlPercent = 100
		c.Reeligibility = rule.ReeligibleAfter(24 * time.Hour)
	})
	t0 := h.Now()
	h.Track(opened("u"))
	h.MoveTo(t0.Add(time.Hour))
	h.Advance(10 * time.Minute) // held out at 1h
	h.TrackAt(t0.Add(25*time.Hour-time.Nanosecond), opened("u"))
	h.TrackAt(t0.Add(25*time.Hour), opened("u"))
	h.RequireNothingSent()
	h.RequireKinds("u", "f", "scheduled", "held_out/control_group", "suppressed/not_reeligible", "scheduled")
}

// A conversion counts from the receipt's instant and not at its deadline
// (delivery-controls.md, conversions).
func TestSweepConversionWindowEdges(t *testing.T) {
	for _, c := range []struct {
		name     string
		at       time.Duration // after the receipt
		converts bool
	}{
		{"at the receipt", 0, true},
		{"a nanosecond before the deadline", time.Hour - time.Nanosecond, true},
		{"at the deadline", time.Hour, false},
		{"a nanosecond before the receipt", -time.Nanosecond, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := connectortest.New(t)
			h.Save(rule.Campaign{ID: "o", Conversions: []rule.Conversion{{ID: "bought", Kind: event.Purchase, Deadline: time.Hour}}})
			h.Save(rule.Campaign{ID: "thanks", Triggers: []rule.Trigger{{Kind: event.ConversionPerformed, CampaignID: "o", Target: "bought"}}})
			h.Publish("thanks", "o")
			t0 := h.Now()
			h.Advance(time.Minute)
			h.TrackAt(t0.Add(time.Minute), interaction("u", event.EmailReceived, "o"))
			h.TrackAt(t0.Add(time.Minute+c.at), event.Event{UserID: "u", Kind: event.Purchase})
			h.Advance(2 * time.Hour)
			if c.converts {
				h.RequireSent("u", "thanks")
			} else {
				h.RequireNotSent("u", "thanks")
			}
		})
	}
}

// A trigger stamped exactly the maximum lead ahead counts, a nanosecond
// more does not, and leaves nothing pending (eligibility.md).
func TestSweepMaxTriggerLeadToTheNanosecond(t *testing.T) {
	h := connectortest.New(t, connector.WithMaxTriggerLead(time.Hour))
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour) })
	t0 := h.Now()
	h.TrackAt(t0.Add(time.Hour+time.Nanosecond), opened("u"))
	h.TrackAt(t0.Add(time.Hour), opened("u"))
	h.Advance(3 * time.Hour)
	h.RequireSentAt("u", "f", t0.Add(2*time.Hour))
	h.RequireKinds("u", "f", "suppressed/trigger_too_far_ahead", "scheduled", "delivered")
}

// A rolling frequency cap: a delivery exactly Window ago no longer counts,
// one a nanosecond less ago does (delivery-controls.md).
func TestSweepRollingCapToTheNanosecond(t *testing.T) {
	h := connectortest.New(t, connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Window: time.Hour}))
	followUp(h, func(c *rule.Campaign) { c.Reeligibility = rule.ReeligibleAfter(0) })
	t0 := h.Now()
	h.Track(opened("u"))
	h.Tick()
	h.AdvanceTo(t0.Add(time.Hour - time.Nanosecond))
	h.Track(opened("u"))
	h.Tick()
	h.AdvanceTo(t0.Add(time.Hour))
	h.Track(opened("u"))
	h.Tick()
	h.RequireSentTimes("u", "f", 2)
	h.RequireKinds("u", "f", "scheduled", "delivered", "scheduled", "suppressed/frequency_capped", "scheduled", "delivered")
}

// The receipt of a retried send is the clock at the accepted attempt, not
// the due time: the re-eligibility window counts from it.
func TestSweepAReceiptAfterARetryCountsFromTheAcceptedSend(t *testing.T) {
	h := harnessAt(t, connectortest.Start)
	followUp(h, func(c *rule.Campaign) {
		c.Delay = rule.After(time.Hour)
		c.Reeligibility = rule.ReeligibleAfter(24 * time.Hour)
	})
	t0 := h.Now()
	calls := 0
	h.Sender.Fail = func(connector.Delivery) error {
		calls++
		if calls == 1 {
			return context.DeadlineExceeded
		}
		return nil
	}
	h.Track(opened("u"))
	h.Advance(3 * time.Hour) // the retry policy of harnessAt: a minute later
	h.RequireSent("u", "f")
	at := h.Sender.SentAt(h.SentTo("u", "f")[0].ID)
	require.Equal(t, t0.Add(time.Hour+time.Minute), at)
	h.TrackAt(at.Add(24*time.Hour-time.Nanosecond), opened("u"))
	h.TrackAt(at.Add(24*time.Hour), opened("u"))
	h.RequireKinds("u", "f", "scheduled", "retried/send_error", "delivered", "suppressed/not_reeligible", "scheduled")
}

// An immediate follow-up is due at its trigger's time: with End at that
// instant nothing is scheduled, with End a nanosecond later it is sent.
func TestSweepAnImmediateFollowUpAtEnd(t *testing.T) {
	for _, c := range []struct {
		name  string
		end   time.Duration
		sends bool
	}{{"End at the trigger", 0, false}, {"End just after", time.Nanosecond, true}} {
		t.Run(c.name, func(t *testing.T) {
			h := connectortest.New(t)
			at := connectortest.Start.Add(time.Hour)
			followUp(h, func(f *rule.Campaign) { f.Start = at.Add(-time.Hour); f.End = at.Add(c.end) })
			h.AdvanceTo(at)
			h.Track(opened("u"))
			h.Tick()
			if c.sends {
				h.RequireSentAt("u", "f", at)
				return
			}
			h.RequireKinds("u", "f", "suppressed/outside_duration")
		})
	}
}

// ReplaceWithLatest leaves the waiting delivery alone when the newer
// trigger is itself suppressed (its due time at End).
func TestSweepAReplacementThatFailsEndReplacesNothing(t *testing.T) {
	h := connectortest.New(t)
	t0 := h.Now()
	followUp(h, func(c *rule.Campaign) {
		c.Delay = rule.After(time.Hour)
		c.PendingPolicy = rule.ReplaceWithLatest
		c.End = t0.Add(90 * time.Minute)
	})
	h.Track(opened("u"))
	h.AdvanceTo(t0.Add(30 * time.Minute))
	h.Track(opened("u"))
	h.Advance(2 * time.Hour)
	h.RequireSentAt("u", "f", t0.Add(time.Hour))
	h.RequireKinds("u", "f", "scheduled", "suppressed/outside_duration", "delivered")
}

// With AllowParallel, a once-only follow-up triggered twice before its
// first send is sent twice; a third trigger after the sends is refused
// (eligibility.md, re-eligibility).
func TestSweepAllowParallelOnceOnly(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour); c.PendingPolicy = rule.AllowParallel })
	h.Track(opened("u"))
	h.Advance(10 * time.Minute)
	h.Track(opened("u"))
	h.Advance(2 * time.Hour)
	h.Track(opened("u"))
	h.Tick()
	h.RequireSentTimes("u", "f", 2)
	h.RequireKinds("u", "f", "scheduled", "scheduled", "delivered", "delivered", "suppressed/not_reeligible")
}

// Backfill replays the log in [since, activation): an event exactly at
// since counts, one a nanosecond before does not, and one at the
// activation counts live, once.
func TestSweepBackfillBounds(t *testing.T) {
	h := connectortest.New(t, connector.WithInteractionLog(30*24*time.Hour))
	h.Save(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}, Delay: rule.After(time.Hour)})
	h.Publish("o")
	since := h.Now().Add(time.Hour)
	h.Advance(3 * time.Hour)
	act := h.Now()
	h.TrackAt(since.Add(-time.Nanosecond), opened("early"))
	h.TrackAt(since, opened("atsince"))
	h.TrackAt(act.Add(-time.Nanosecond), opened("justbefore"))
	require.NoError(t, h.Engine.Publish(context.Background(), "f", connector.Backfill(since)))
	h.TrackAt(act, opened("atact"))
	h.Advance(3 * time.Hour)
	h.RequireNotSent("early", "f")
	h.RequireSentAt("atsince", "f", act)
	h.RequireSentAt("justbefore", "f", act.Add(time.Hour-time.Nanosecond))
	h.RequireSentAt("atact", "f", act.Add(time.Hour))
	h.RequireSentTimes("atact", "f", 1)
}

// The original is judged when the interaction is processed: an
// interaction stamped while the original was stopped counts once it is
// active again; one processed while it is stopped does not.
func TestSweepTheOriginalIsJudgedWhenProcessed(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour) })
	h.Advance(time.Hour)
	h.Stop("o")
	stamp := h.Now().Add(time.Minute)
	h.Advance(10 * time.Minute)
	h.TrackAt(stamp, opened("u"))
	h.Publish("o")
	h.TrackAt(stamp, opened("v"))
	h.Advance(2 * time.Hour)
	h.RequireKinds("u", "f", "suppressed/original_not_active")
	h.RequireSentAt("v", "f", stamp.Add(time.Hour))
}

// A stop while quiet hours defer a delivery cancels it; the resume does
// not send it.
func TestSweepAStopDuringADeferral(t *testing.T) {
	h := connectortest.New(t, connector.WithQuietHours(connector.QuietHours{From: rule.At(0, 0), To: rule.At(8, 0), Defer: true}))
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour) })
	h.Track(opened("u"))
	h.Advance(2 * time.Hour)
	h.RequireReason("u", "f", rule.Deferred, rule.ReasonQuietHours)
	h.Stop("f")
	h.Publish("f")
	h.Advance(24 * time.Hour)
	h.RequireNotSent("u", "f")
	h.RequireKinds("u", "f", "scheduled", "deferred/quiet_hours", "cancelled/campaign_stopped")
}

// Archiving at the due instant, before the Tick, cancels the delivery.
func TestSweepArchiveAtTheDueInstant(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour) })
	t0 := h.Now()
	h.Track(opened("u"))
	h.MoveTo(t0.Add(time.Hour))
	h.Archive("f")
	h.Advance(time.Hour)
	h.RequireNotSent("u", "f")
	h.RequireKinds("u", "f", "scheduled", "cancelled/campaign_stopped")
}

// A trigger whose computed due time is exactly now is due now, not late;
// a nanosecond older is late by a nanosecond ("already past").
func TestSweepADueTimeOfNowIsNotLate(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour) })
	h.Advance(2 * time.Hour)
	now := h.Now()
	h.TrackAt(now.Add(-time.Hour), opened("u"))
	h.TrackAt(now.Add(-time.Hour-time.Nanosecond), opened("v"))
	h.Tick()
	h.RequireSentAt("u", "f", now)
	h.RequireKinds("u", "f", "scheduled", "delivered")
	h.RequireSentAt("v", "f", now)
	d := h.RequireReason("v", "f", rule.Scheduled, rule.ReasonLate)
	require.Contains(t, d.Detail, "1ns")
}
