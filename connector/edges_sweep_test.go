package connector_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// An event ID seen in a TrackAll batch is a duplicate in a later Track of
// the same user (and inside the batch itself), but not for another user
// (R11, S8; IDs are per user). AllowParallel and ReeligibleAfter(0) make
// a non-deduplicated copy schedule a second delivery.
func TestSweepAnIDFromABatchIsADuplicateInALaterTrack(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) {
		c.Delay = rule.After(time.Hour)
		c.PendingPolicy = rule.AllowParallel
		c.Reeligibility = rule.ReeligibleAfter(0)
	})
	u, v := opened("u"), opened("v")
	u.ID, v.ID = "x", "x"
	later := u
	later.Time = h.Now().Add(time.Minute)
	require.NoError(t, h.Engine.TrackAll(context.Background(), []event.Event{u, v, later}))
	h.Advance(10 * time.Minute)
	h.Track(u)
	h.Advance(2 * time.Hour)
	// After the send too: the receipt does not make the ID new.
	h.Track(u)
	h.Tick()
	h.RequireSentTimes("u", "f", 1)
	h.RequireSentTimes("v", "f", 1)
	h.RequireKinds("u", "f", "scheduled", "duplicate/duplicate_event", "duplicate/duplicate_event", "delivered", "duplicate/duplicate_event")
}

// With AllowParallel, an exception cancels every delivery whose waiting
// window holds it (R6): one at the second trigger's exact time, processed
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
// same time (R6, send after the last occurrence).
func TestSweepRepeatsInTheSameInstantReschedule(t *testing.T) {
	h := started(t, visitCampaign(rule.KeepFirst))
	t0 := h.Now()
	h.Track(visit("u", "a", t0), visit("u", "b", t0))
	h.Advance(2 * time.Hour)
	h.RequireSentTimes("u", "f", 1)
	h.RequireSentAt("u", "f", t0.Add(time.Hour))
	h.RequireKinds("u", "f", "scheduled", "cancelled/exception", "scheduled", "delivered")
}

// A stop at the due instant, before the Tick that would send, cancels the
// delivery; the resume does not send it (R2, S9); the cancellation is no
// receipt, so a trigger after the resume, stamped at the new activation
// time itself, schedules (R3: at or after the activation counts).
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
// in that same instant (R2).
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
// the last check looks at the follow-up's state (R10), and the original
// is judged when the trigger is processed (R4).
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
// scheduled; to a nanosecond before End, it schedules (R9, End after the
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

// A zero delay is immediate: After(0) and {"after":"0s"} cannot carry
// exceptions (R6).
func TestSweepAZeroDelayIsImmediate(t *testing.T) {
	f := rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}},
		Delay: rule.After(0), Exceptions: []rule.Exception{{Kind: event.Purchase}}}
	require.ErrorIs(t, f.Validate(), rule.ErrExceptionWithoutDelay)
	var d rule.Campaign
	require.NoError(t, json.Unmarshal([]byte(`{"id":"f","triggers":[{"kind":"email_opened","campaign_id":"o"}],"delay":{"after":"0s"},"exceptions":[{"kind":"purchase"}]}`), &d))
	require.True(t, d.Delay.IsZero())
	require.ErrorIs(t, d.Validate(), rule.ErrExceptionWithoutDelay)

	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(0) })
	h.Track(opened("u"))
	h.Tick()
	h.RequireSentAt("u", "f", connectortest.Start)
	h.RequireNoReason("u", "f", rule.Scheduled, rule.ReasonLate)
}

// The longest delays: ten years of After and 3,650 days of InDaysAt are
// accepted and run to the nanosecond; a nanosecond or a day more is a
// validation error. A trigger stamped just before event.MaxTime with the
// longest delay is tracked without error (R15).
func TestSweepTheLongestDelays(t *testing.T) {
	const tenYears = 10 * 365 * 24 * time.Hour
	over := rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}, Delay: rule.After(tenYears + time.Nanosecond)}
	require.ErrorIs(t, over.Validate(), rule.ErrInvalidDelay)
	over.Delay = rule.InDaysAt(3651, 0, 0)
	require.ErrorIs(t, over.Validate(), rule.ErrInvalidDelay)
	over.Delay = rule.After(-time.Nanosecond)
	require.ErrorIs(t, over.Validate(), rule.ErrInvalidDelay)

	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(tenYears) })
	h.Track(opened("u"))
	h.MoveTo(connectortest.Start.Add(tenYears - time.Nanosecond))
	h.Tick()
	h.RequireNotSent("u", "f")
	h.Advance(time.Nanosecond)
	h.RequireSentAt("u", "f", connectortest.Start.Add(tenYears))

	h2 := connectortest.New(t)
	followUp(h2, func(c *rule.Campaign) { c.Delay = rule.After(tenYears) })
	at := event.MaxTime.Add(-time.Nanosecond)
	ev := opened("u")
	ev.Time = at
	require.NoError(t, h2.Engine.Track(context.Background(), ev))
	h2.RequirePendingAt("u", "f", at.Add(tenYears))

	h3 := connectortest.New(t)
	followUp(h3, func(c *rule.Campaign) { c.Delay = rule.InDaysAt(3650, 23, 59) })
	ev.Time = at
	require.NoError(t, h3.Engine.Track(context.Background(), ev))
	h3.RequirePendingAt("u", "f", time.Date(8999, 12, 31, 23, 59, 0, 0, time.UTC).AddDate(0, 0, 3650))
}

// Property conditions with odd values, through the engine: an absent or
// null property satisfies ne; Present holds for null; numbers compare by
// value across types but not past float precision; a string is never a
// number; prefix and contains want strings.
func TestSweepConditionsOnOddValues(t *testing.T) {
	big := int64(1)<<53 + 1
	cases := []struct {
		name  string
		cond  rule.Condition
		props map[string]any
		want  bool
	}{
		{"ne absent", rule.NotEqual("plan", "free"), nil, true},
		{"ne null", rule.NotEqual("plan", "free"), map[string]any{"plan": nil}, true},
		{"ne equal", rule.NotEqual("plan", "free"), map[string]any{"plan": "free"}, false},
		{"eq null", rule.Equal("plan", nil), map[string]any{"plan": nil}, true},
		{"eq null absent", rule.Equal("plan", nil), nil, false},
		{"present null", rule.Present("plan"), map[string]any{"plan": nil}, true},
		{"present absent", rule.Present("plan"), map[string]any{}, false},
		{"eq 3 json 3.0", rule.Equal("n", 3), map[string]any{"n": json.Number("3.0")}, true},
		{"eq 3 json 3e0", rule.Equal("n", 3), map[string]any{"n": json.Number("3e0")}, true},
		{"eq 3 string", rule.Equal("n", 3), map[string]any{"n": "3"}, false},
		{"eq 3 float32", rule.Equal("n", 3), map[string]any{"n": float32(3)}, true},
		{"eq 0.1 float32", rule.Equal("n", 0.1), map[string]any{"n": float32(0.1)}, true},
		{"eq big float", rule.Equal("n", big), map[string]any{"n": float64(big - 1)}, false},
		{"eq big json", rule.Equal("n", big), map[string]any{"n": json.Number("9007199254740993")}, true},
		{"ge uint64 max", rule.GreaterOrEqual("n", 1), map[string]any{"n": ^uint64(0)}, true},
		{"gt uint64 max json 2^64", rule.Greater("n", ^uint64(0)), map[string]any{"n": json.Number("18446744073709551616")}, true},
		// A JSON number beyond a float64's range is still a number, and
		// compares by its value (events accept it, see event.CheckValue).
		{"ge json 1e400", rule.GreaterOrEqual("n", 100), map[string]any{"n": json.Number("1e400")}, true},
		{"lt json 1e400", rule.Less("n", 100), map[string]any{"n": json.Number("1e400")}, false},
		{"gt uint64 max json 1e400", rule.Greater("n", ^uint64(0)), map[string]any{"n": json.Number("1e400")}, true},
		{"lt json -1e400", rule.Less("n", -100), map[string]any{"n": json.Number("-1e400")}, true},
		{"le int64 min json -1e400", rule.LessOrEqual("n", int64(-1)<<63), map[string]any{"n": json.Number("-1e400")}, true},
		{"ne json 1e400", rule.NotEqual("n", 100), map[string]any{"n": json.Number("1e400")}, true},
		{"eq json 1e400", rule.Equal("n", 100), map[string]any{"n": json.Number("1e400")}, false},
		{"lt negative zero", rule.Less("n", 0), map[string]any{"n": json.Number("-0")}, false},
		{"le bool", rule.LessOrEqual("n", 1), map[string]any{"n": true}, false},
		{"in mixed", rule.OneOf("n", "1", 2), map[string]any{"n": json.Number("2.0")}, true},
		{"in mixed string", rule.OneOf("n", "1", 2), map[string]any{"n": 1}, false},
		{"prefix number", rule.HasPrefix("s", "1"), map[string]any{"s": 12}, false},
		{"contains list", rule.HasSubstring("s", "a"), map[string]any{"s": []any{"a"}}, false},
		{"eq bool", rule.Equal("b", false), map[string]any{"b": false}, true},
		{"eq bool number", rule.Equal("b", false), map[string]any{"b": 0}, false},
		{"eq object", rule.Equal("o", "x"), map[string]any{"o": map[string]any{"x": "x"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := connectortest.New(t)
			h.Save(rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.CustomEvent, Name: "e", Where: []rule.Condition{c.cond}}}})
			h.Publish("f")
			h.Track(event.Event{UserID: "u", Kind: event.CustomEvent, Name: "e", Properties: c.props})
			h.Tick()
			if c.want {
				h.RequireSent("u", "f")
			} else {
				h.RequireNotSent("u", "f")
			}
		})
	}
}

// A send window's opening on the day clocks go forward (02:30 that does
// not exist) opens at the change; on the day they go back, a window that
// opens at 01:30, asked between the two 01:30s, opens at the second
// (triggers-and-delays.md, daylight-saving time).
func TestSweepSendWindowsOnDaylightSavingDays(t *testing.T) {
	ny := zone(t, "America/New_York")
	t.Run("spring", func(t *testing.T) {
		start := time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC) // 00:00 EST
		h := harnessAt(t, start, connector.WithLocation(ny))
		followUp(h, func(c *rule.Campaign) {
			c.SendWindow = &rule.SendWindow{From: rule.At(2, 30), To: rule.At(5, 0), NextAvailable: true}
		})
		h.AdvanceTo(time.Date(2026, 3, 8, 6, 0, 0, 0, time.UTC)) // 01:00 EST
		h.Track(opened("u"))
		h.Advance(6 * time.Hour)
		h.RequireSentAt("u", "f", time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)) // 03:00 EDT
	})
	t.Run("autumn", func(t *testing.T) {
		start := time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC) // 00:00 EDT
		h := harnessAt(t, start, connector.WithLocation(ny))
		followUp(h, func(c *rule.Campaign) {
			c.SendWindow = &rule.SendWindow{From: rule.At(1, 30), To: rule.At(1, 40), NextAvailable: true}
		})
		h.AdvanceTo(time.Date(2026, 11, 1, 5, 45, 0, 0, time.UTC)) // 01:45 EDT, the first pass
		h.Track(opened("u"))
		h.Advance(6 * time.Hour)
		h.RequireSentAt("u", "f", time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)) // 01:30 EST, the second
	})
}

// A hold-out counts as a receipt from the instant it is held out: the
// next trigger inside the re-eligibility window is refused, one at its
// end schedules (delivery-controls.md, control groups; R8).
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

// Send windows with Days: an overnight window belongs to the day it opens,
// and a whole-day window (From == To) with Days opens at the listed day's
// midnight (delivery-controls.md, boundaries).
func TestSweepSendWindowDays(t *testing.T) {
	// connectortest.Start is Monday 5 January 2026, 00:00 UTC.
	fri := connectortest.Start.AddDate(0, 0, 4)
	t.Run("overnight opened on Friday ends on Saturday morning", func(t *testing.T) {
		h := connectortest.New(t)
		followUp(h, func(c *rule.Campaign) {
			c.Reeligibility = rule.ReeligibleAfter(0)
			c.SendWindow = &rule.SendWindow{From: rule.At(22, 0), To: rule.At(6, 0), Days: []time.Weekday{time.Friday}, NextAvailable: true}
		})
		h.AdvanceTo(fri.Add(27 * time.Hour)) // Saturday 03:00
		h.Track(opened("u"))
		h.Tick()
		h.RequireSentAt("u", "f", fri.Add(27*time.Hour))
		h.AdvanceTo(fri.Add(51 * time.Hour)) // Sunday 03:00: Saturday opened no window
		h.Track(opened("v"))
		h.Advance(10 * 24 * time.Hour)
		h.RequireSentAt("v", "f", fri.AddDate(0, 0, 7).Add(22*time.Hour))
	})
	t.Run("whole days", func(t *testing.T) {
		h := connectortest.New(t)
		followUp(h, func(c *rule.Campaign) {
			c.SendWindow = &rule.SendWindow{From: rule.At(7, 0), To: rule.At(7, 0), Days: []time.Weekday{time.Wednesday}, NextAvailable: true}
		})
		h.Advance(time.Hour) // Monday 01:00
		h.Track(opened("u"))
		h.Advance(10 * 24 * time.Hour)
		h.RequireSentAt("u", "f", connectortest.Start.AddDate(0, 0, 2))
	})
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
// the due time: the re-eligibility window counts from it (R8).
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

// An event matching two triggers of one follow-up counts once; two
// follow-ups on the same event each count it.
func TestSweepAnEventMatchingTwoTriggersCountsOnce(t *testing.T) {
	h := connectortest.New(t)
	trig := []rule.Trigger{
		{Kind: event.CustomEvent, Name: "e"},
		{Kind: event.CustomEvent, Name: "e", Where: []rule.Condition{rule.Present("x")}},
	}
	h.Save(rule.Campaign{ID: "f", Triggers: trig, PendingPolicy: rule.AllowParallel, Reeligibility: rule.ReeligibleAfter(0)},
		rule.Campaign{ID: "g", Triggers: trig[:1]})
	h.Publish("f", "g")
	h.Track(event.Event{UserID: "u", Kind: event.CustomEvent, Name: "e", Properties: map[string]any{"x": 1}})
	h.Tick()
	h.RequireSentTimes("u", "f", 1)
	h.RequireSentTimes("u", "g", 1)
	h.RequireKinds("u", "f", "scheduled", "delivered")
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

// The original is judged when the interaction is processed (R4): an
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
// not send it (R2).
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
// a nanosecond older is late by a nanosecond (R5: "already past").
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

// On the day clocks go back, InDaysAt(0, 1, 30) triggered in the first
// pass of 01:45 is due at the first 01:30, already past: late, at once
// (triggers-and-delays.md: a repeated wall time takes its first occurrence).
func TestSweepInDaysAtTheRepeatedHourIsLate(t *testing.T) {
	ny := zone(t, "America/New_York")
	start := time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC) // 00:00 EDT
	h := harnessAt(t, start, connector.WithLocation(ny))
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.InDaysAt(0, 1, 30) })
	at := time.Date(2026, 11, 1, 5, 45, 0, 0, time.UTC) // 01:45 EDT
	h.AdvanceTo(at)
	h.Track(opened("u"))
	h.Tick()
	h.RequireSentAt("u", "f", at)
	d := h.RequireReason("u", "f", rule.Scheduled, rule.ReasonLate)
	require.Equal(t, time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), d.DueAt.UTC())
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
// then the open cancels, the open then the receipt does not (R6).
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

// A refused event leaves no trace, its ID included: a corrected copy with
// the same ID, in the same batch or later, is processed (R11: no state
// changes), and so is a retry of an event whose Track the directory failed.
func TestSweepARefusedEventsIDIsNotRemembered(t *testing.T) {
	t.Run("invalid", func(t *testing.T) {
		h := connectortest.New(t)
		followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(time.Hour) })
		bad := opened("u")
		bad.ID = "x"
		bad.Target = "not allowed on email_opened"
		good := opened("u")
		good.ID = "x"
		err := h.Engine.TrackAll(context.Background(), []event.Event{bad, good})
		require.Error(t, err)
		require.Len(t, connector.TrackErrors(err), 1)
		require.Equal(t, 0, connector.TrackErrors(err)[0].Index)
		h.Advance(2 * time.Hour)
		h.RequireSentTimes("u", "f", 1)
		h.RequireKinds("u", "f", "scheduled", "delivered")
	})
	t.Run("directory error", func(t *testing.T) {
		dir := newDirectory()
		dir.set("u", "vips", true)
		h := connectortest.New(t, connector.WithDirectory(dir))
		followUp(h, func(c *rule.Campaign) { c.Audience = "vips"; c.Delay = rule.After(time.Hour) })
		ev := opened("u")
		ev.ID = "x"
		ev.Time = h.Now()
		dir.failWith(context.DeadlineExceeded)
		require.Error(t, h.Engine.Track(context.Background(), ev))
		dir.failWith(nil)
		h.Advance(time.Minute)
		h.Track(ev)
		h.Advance(2 * time.Hour)
		h.RequireSentAt("u", "f", ev.Time.Add(time.Hour))
		h.RequireKinds("u", "f", "scheduled", "delivered")
	})
}
