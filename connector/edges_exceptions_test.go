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

// With AllowParallel, an exception cancels every delivery whose waiting
// window holds it: one at the second trigger's exact time, processed
// after it, is inside both windows; one at the first delivery's due time,
// while it still waits for a Tick, cancels only the second.
func TestSweepAnExceptionAtATieUnderAllowParallel(t *testing.T) {
	t.Run("at the second trigger's time", func(t *testing.T) {
		h := started(t, func(c *rule.Campaign) { c.PendingPolicy = rule.AllowParallel })
		t0 := h.Now()
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.Advance(30 * time.Minute)
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.TrackAt(t0.Add(30*time.Minute), interaction("u", event.EmailOpened, "newsletter"))
		h.Advance(3 * time.Hour)
		h.RequireNotSent("u", "f")
		h.RequireKinds("u", "f", "scheduled", "scheduled", "cancelled/exception", "cancelled/exception")
	})
	t.Run("at the first delivery's due time", func(t *testing.T) {
		h := started(t, func(c *rule.Campaign) { c.PendingPolicy = rule.AllowParallel })
		t0 := h.Now()
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.Advance(30 * time.Minute)
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.MoveTo(t0.Add(time.Hour))
		h.Track(interaction("u", event.EmailOpened, "newsletter"))
		h.Advance(3 * time.Hour)
		h.RequireSentTimes("u", "f", 1)
		h.RequireSentAt("u", "f", t0.Add(time.Hour))
		h.RequireReason("u", "f", rule.Ignored, rule.ReasonAfterDue)
		h.RequireReason("u", "f", rule.Cancelled, rule.ReasonException)
	})
}

// An exception stamped after its trigger but processed before it finds
// nothing to cancel, whatever its stamp (exceptions.md, the waiting
// window): handed over out of order, the user gets the follow-up.
func TestSweepAnExceptionProcessedBeforeItsTriggerCancelsNothing(t *testing.T) {
	h := started(t, nil)
	t0 := h.Now()
	h.Advance(20 * time.Minute)
	rcv := interaction("u", event.EmailReceived, "newsletter")
	open := interaction("u", event.EmailOpened, "newsletter")
	rcv.Time, open.Time = t0, t0.Add(10*time.Minute)
	require.NoError(t, h.Engine.TrackAll(context.Background(), []event.Event{open, rcv}))
	h.Advance(2 * time.Hour)
	h.RequireSentAt("u", "f", t0.Add(time.Hour))
	h.RequireKinds("u", "f", "scheduled", "delivered")
}

// Two visits with the same stamp, when the visit is trigger and exception:
// the second cancels the first's delivery (an exception at its trigger's
// time, processed after it) and schedules one of its own, due at the
// same time (send after the last occurrence).
func TestSweepRepeatsInTheSameInstantReschedule(t *testing.T) {
	h := started(t, visitCampaign(rule.KeepFirst))
	t0 := h.Now()
	h.Track(visit("u", "a", t0), visit("u", "b", t0))
	h.Advance(2 * time.Hour)
	h.RequireSentTimes("u", "f", 1)
	h.RequireSentAt("u", "f", t0.Add(time.Hour))
	h.RequireKinds("u", "f", "scheduled", "cancelled/exception", "scheduled", "delivered")
}

// ReplaceWithLatest: an older trigger reported late is not the latest and
// leaves the waiting delivery alone; triggers with the same time replace
// in the order they are tracked (eligibility.md, pending policies).
func TestSweepReplaceWithLatestAndOutOfOrderTriggers(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour); c.PendingPolicy = rule.ReplaceWithLatest })
	t0 := h.Now()
	h.Advance(20 * time.Minute)
	h.Track(opened("u"))                           // due 1h20
	h.TrackAt(t0.Add(10*time.Minute), opened("u")) // older: suppressed
	h.TrackAt(t0.Add(20*time.Minute), opened("u")) // same time: replaces
	h.Advance(3 * time.Hour)
	h.RequireSentTimes("u", "f", 1)
	h.RequireSentAt("u", "f", t0.Add(80*time.Minute))
	h.RequireKinds("u", "f", "scheduled", "suppressed/already_pending", "cancelled/replaced", "scheduled", "delivered")
}

// An exception stamped ahead of the clock cancels only a delivery due
// after its stamp, and is not kept for deliveries scheduled later
// (eligibility.md, maximum trigger lead).
func TestSweepAnExceptionStampedAhead(t *testing.T) {
	h := started(t, func(c *rule.Campaign) { c.Reeligibility = rule.ReeligibleAfter(0) })
	t0 := h.Now()
	h.Track(interaction("u", event.EmailReceived, "newsletter")) // due 1h
	h.Track(interaction("v", event.EmailReceived, "newsletter")) // due 1h
	h.Advance(10 * time.Minute)
	h.TrackAt(t0.Add(time.Hour), interaction("u", event.EmailOpened, "newsletter"))
	h.TrackAt(t0.Add(50*time.Minute), interaction("v", event.EmailOpened, "newsletter"))
	h.Advance(time.Hour)
	h.RequireSentAt("u", "f", t0.Add(time.Hour))
	h.RequireReason("u", "f", rule.Ignored, rule.ReasonAfterDue)
	h.RequireNotSent("v", "f")
	// A trigger whose wait holds the earlier stamp of the future exception
	// is not cancelled by it: it was processed before the trigger.
	h.Advance(20 * time.Minute)
	h.TrackAt(t0.Add(50*time.Minute), interaction("v", event.EmailReceived, "newsletter"))
	h.Advance(2 * time.Hour)
	h.RequireSentTimes("v", "f", 1)
}

// A trigger reported after its due time is due at once, but its waiting
// window is still [trigger, computed due): an exception stamped inside it,
// processed while the delivery waits for its Tick, cancels (exceptions.md:
// the window is judged on the events' own times).
func TestSweepALateTriggersWaitStillCancels(t *testing.T) {
	h := started(t, nil)
	t0 := h.Now()
	h.Clock.Add(2 * time.Hour) // no Tick
	h.TrackAt(t0, interaction("u", event.EmailReceived, "newsletter"))
	h.TrackAt(t0.Add(30*time.Minute), interaction("u", event.EmailOpened, "newsletter"))
	h.TrackAt(t0, interaction("v", event.EmailReceived, "newsletter"))
	h.TrackAt(t0.Add(time.Hour), interaction("v", event.EmailOpened, "newsletter"))
	h.Tick()
	h.RequireNotSent("u", "f")
	h.RequireKinds("u", "f", "scheduled/late", "cancelled/exception")
	h.RequireSent("v", "f")
	h.RequireKinds("v", "f", "scheduled/late", "ignored/after_due", "delivered")
}

// Times are instants, whatever their zone: an exception at the trigger's
// instant written in another zone is a tie (cancels, processed after), one
// at the due instant written in a third zone is at the due time.
func TestSweepTiesAcrossZones(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	tokyo := zone(t, "Asia/Tokyo")
	h := started(t, nil)
	t0 := h.Now()
	h.Advance(10 * time.Minute)
	h.TrackAt(t0.In(paris), interaction("u", event.EmailReceived, "newsletter"))
	h.TrackAt(t0, interaction("u", event.EmailOpened, "newsletter"))
	h.TrackAt(t0.In(paris), interaction("v", event.EmailReceived, "newsletter"))
	h.MoveTo(t0.Add(time.Hour))
	h.TrackAt(t0.Add(time.Hour).In(tokyo), interaction("v", event.EmailOpened, "newsletter"))
	h.Advance(time.Hour)
	h.RequireNotSent("u", "f")
	h.RequireKinds("u", "f", "scheduled", "cancelled/exception")
	h.RequireSentAt("v", "f", t0.Add(time.Hour))
	h.RequireKinds("v", "f", "scheduled", "ignored/after_due", "delivered")
}

// An exception reported after the send: stamped in the wait, it leaves
// ignored/after_send; stamped at the send's instant (the due time, here),
// it leaves no decision (exceptions.md, reported after the send).
func TestSweepAnExceptionReportedAfterTheSend(t *testing.T) {
	h := started(t, nil)
	t0 := h.Now()
	h.Track(interaction("u", event.EmailReceived, "newsletter"), interaction("v", event.EmailReceived, "newsletter"))
	h.Advance(2 * time.Hour)
	h.TrackAt(t0.Add(time.Hour-time.Nanosecond), interaction("u", event.EmailOpened, "newsletter"))
	h.TrackAt(t0.Add(time.Hour), interaction("v", event.EmailOpened, "newsletter"))
	d := h.RequireReason("u", "f", rule.Ignored, rule.ReasonAfterSend)
	require.Equal(t, t0.Add(time.Hour-time.Nanosecond), d.EventTime)
	h.RequireKinds("u", "f", "scheduled", "delivered", "ignored/after_send")
	h.RequireKinds("v", "f", "scheduled", "delivered")
}

// Allowed lateness holds a delivery L past its due time: an exception
// stamped just before the due time and processed at due+L, before the
// Tick, still cancels; one stamped at the due time does not.
func TestSweepAllowedLatenessAtItsEnd(t *testing.T) {
	h := started(t, nil, connector.WithAllowedLateness(30*time.Minute))
	t0 := h.Now()
	h.Track(interaction("u", event.EmailReceived, "newsletter"), interaction("v", event.EmailReceived, "newsletter"))
	h.MoveTo(t0.Add(90 * time.Minute))
	h.TrackAt(t0.Add(time.Hour-time.Nanosecond), interaction("u", event.EmailOpened, "newsletter"))
	h.TrackAt(t0.Add(time.Hour), interaction("v", event.EmailOpened, "newsletter"))
	h.Advance(time.Hour)
	h.RequireNotSent("u", "f")
	h.RequireKinds("u", "f", "scheduled", "cancelled/exception")
	h.RequireSentAt("v", "f", t0.Add(90*time.Minute))
	h.RequireKinds("v", "f", "scheduled", "ignored/after_due", "delivered")
}

// A send window that moves the due time when the trigger is processed
// moves the end of the wait with it: an exception before the window's
// opening cancels. A deferral at send time (quiet hours) does not: an
// exception after the due time, during the deferral, cancels nothing.
func TestSweepTheWaitEndsAtTheScheduledDueTime(t *testing.T) {
	t.Run("moved by a send window", func(t *testing.T) {
		h := started(t, func(c *rule.Campaign) {
			c.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 0), NextAvailable: true}
		})
		h.AdvanceTo(connectortest.Start.Add(20 * time.Hour))
		h.Track(interaction("u", event.EmailReceived, "newsletter")) // due 21:00, moved to 09:00
		h.RequirePendingAt("u", "f", connectortest.Start.Add(33*time.Hour))
		h.AdvanceTo(connectortest.Start.Add(23 * time.Hour))
		h.Track(interaction("u", event.EmailOpened, "newsletter"))
		h.Advance(24 * time.Hour)
		h.RequireNotSent("u", "f")
		h.RequireKinds("u", "f", "scheduled", "cancelled/exception")
	})
	t.Run("deferred by quiet hours", func(t *testing.T) {
		h := started(t, nil, connector.WithQuietHours(connector.QuietHours{From: rule.At(21, 0), To: rule.At(8, 0), Defer: true}))
		h.AdvanceTo(connectortest.Start.Add(20 * time.Hour))
		h.Track(interaction("u", event.EmailReceived, "newsletter")) // due 21:00, deferred to 08:00
		h.AdvanceTo(connectortest.Start.Add(23 * time.Hour))
		h.Track(interaction("u", event.EmailOpened, "newsletter"))
		h.Advance(24 * time.Hour)
		h.RequireSentAt("u", "f", connectortest.Start.Add(32*time.Hour))
		h.RequireKinds("u", "f", "scheduled", "deferred/quiet_hours", "ignored/after_due", "delivered")
	})
}

// A delivery waiting for a retry is pending again: an exception stamped in
// its wait and processed before the retry cancels it; one stamped after
// the due time does not (exceptions.md, exceptions during a send).
func TestSweepAnExceptionDuringARetry(t *testing.T) {
	for _, c := range []struct {
		name    string
		at      time.Duration // the exception's stamp after the trigger
		cancels bool
	}{{"stamped in the wait", 59 * time.Minute, true}, {"stamped after the due time", 61 * time.Minute, false}} {
		t.Run(c.name, func(t *testing.T) {
			h := started(t, nil, connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: 10 * time.Minute, Max: time.Hour}))
			t0 := h.Now()
			calls := 0
			h.Sender.Fail = func(connector.Delivery) error {
				calls++
				if calls == 1 {
					return context.DeadlineExceeded
				}
				return nil
			}
			h.Track(interaction("u", event.EmailReceived, "newsletter"))
			h.AdvanceTo(t0.Add(65 * time.Minute)) // the first attempt failed at 1h; retry at 1h10
			h.RequireReason("u", "f", rule.Retried, rule.ReasonSendError)
			h.TrackAt(t0.Add(c.at), interaction("u", event.EmailOpened, "newsletter"))
			h.Advance(time.Hour)
			if c.cancels {
				h.RequireNotSent("u", "f")
				h.RequireKinds("u", "f", "scheduled", "retried/send_error", "cancelled/exception")
				return
			}
			h.RequireSentAt("u", "f", t0.Add(70*time.Minute))
			h.RequireKinds("u", "f", "scheduled", "retried/send_error", "ignored/after_due", "delivered")
		})
	}
}

// A backfill replays a trigger and an exception with the same stamp in the
// order they were tracked, as tracking them live would have: the receipt
// then the open cancels, the open then the receipt does not.
func TestSweepBackfillKeepsTheOrderOfTies(t *testing.T) {
	for _, c := range []struct {
		name      string
		openFirst bool
	}{{"receipt then open", false}, {"open then receipt", true}} {
		t.Run(c.name, func(t *testing.T) {
			h := connectortest.New(t, connector.WithInteractionLog(30*24*time.Hour))
			newsletter := waitCampaign(nil)
			h.Save(newsletter...)
			h.Publish("newsletter")
			h.Advance(time.Minute)
			at := h.Now()
			rcv := interaction("u", event.EmailReceived, "newsletter")
			open := interaction("u", event.EmailOpened, "newsletter")
			rcv.Time, open.Time = at, at
			if c.openFirst {
				h.Track(open, rcv)
			} else {
				h.Track(rcv, open)
			}
			h.Advance(10 * time.Minute)
			require.NoError(t, h.Engine.Publish(context.Background(), "f", connector.Backfill(at)))
			h.Advance(2 * time.Hour)
			if c.openFirst {
				h.RequireSentAt("u", "f", at.Add(time.Hour))
				return
			}
			h.RequireNotSent("u", "f")
			h.RequireReason("u", "f", rule.Cancelled, rule.ReasonException)
		})
	}
}
