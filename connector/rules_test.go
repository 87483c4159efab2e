package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// waitCampaign is a follow-up of "newsletter" with a one-hour wait and an
// open as exception.
func waitCampaign(mod func(*rule.Campaign)) []rule.Campaign {
	f := rule.Campaign{
		ID:         "f",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
	}
	if mod != nil {
		mod(&f)
	}
	return []rule.Campaign{{ID: "newsletter"}, f}
}

func started(t *testing.T, mod func(*rule.Campaign), opts ...connector.Option) *connectortest.Harness {
	h := connectortest.New(t, opts...)
	h.Save(waitCampaign(mod)...)
	h.Publish("f", "newsletter")
	return h
}

func TestExceptionBoundaries(t *testing.T) {
	cases := []struct {
		name    string
		at      time.Duration // exception time after the trigger
		cancels bool
		ignored rule.Reason // the reason of the ignored decision when it does not cancel
	}{
		{"exception at the trigger's instant, processed after it, cancels", 0, true, ""},
		{"exception just after the trigger cancels", time.Nanosecond, true, ""},
		{"exception just before the due time cancels", time.Hour - time.Nanosecond, true, ""},
		{"exception exactly at the due time cancels nothing", time.Hour, false, rule.ReasonAfterDue},
		{"exception after the due time cancels nothing", time.Hour + time.Minute, false, rule.ReasonAfterDue},
		{"exception before the trigger cancels nothing", -time.Minute, false, rule.ReasonBeforeTrigger},
		{"exception a nanosecond before the trigger cancels nothing", -time.Nanosecond, false, rule.ReasonBeforeTrigger},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := started(t, nil)
			t0 := h.Now()
			h.Track(interaction("u", event.EmailReceived, "newsletter"))
			// Reported before the due time whatever its stamp, so the
			// delivery is still waiting when it arrives.
			h.Advance(30 * time.Minute)
			h.TrackAt(t0.Add(tc.at), interaction("u", event.EmailOpened, "newsletter"))
			h.Advance(time.Hour)
			if tc.cancels {
				h.RequireNotSent("u", "f")
				h.RequireReason("u", "f", rule.Cancelled, rule.ReasonException)
				h.RequireNoReason("u", "f", rule.Ignored, "")
				return
			}
			h.RequireSentAt("u", "f", t0.Add(time.Hour))
			d := h.RequireReason("u", "f", rule.Ignored, tc.ignored)
			require.Equal(t, event.EmailOpened, d.EventKind, "the decision names the exception's event")
			require.Equal(t, t0.Add(tc.at), d.EventTime)
			require.Equal(t, t0.Add(time.Hour), d.DueAt, "and the delivery it did not cancel")
			require.Equal(t, `email_opened of "newsletter"`, d.Rule)
			h.RequireKinds("u", "f", "scheduled", "ignored/"+string(tc.ignored), "delivered")
		})
	}
}

func TestExceptionAtTheTriggersInstantProcessedFirstCancelsNothing(t *testing.T) {
	// Providers stamp to the second: the open and the receipt share an
	// instant. Handed over in this order, the open finds nothing to cancel.
	h := started(t, nil)
	t0 := h.Now()
	open := interaction("u", event.EmailOpened, "newsletter")
	rcv := interaction("u", event.EmailReceived, "newsletter")
	open.Time, rcv.Time = t0, t0
	require.NoError(t, h.Engine.TrackAll(context.Background(), []event.Event{open, rcv}))
	h.Advance(2 * time.Hour)
	h.RequireSentAt("u", "f", t0.Add(time.Hour))
	h.RequireKinds("u", "f", "scheduled", "delivered")

	// In the other order, the same two events cancel.
	h2 := started(t, nil)
	require.NoError(t, h2.Engine.TrackAll(context.Background(), []event.Event{rcv, open}))
	h2.Advance(2 * time.Hour)
	h2.RequireNotSent("u", "f")
	h2.RequireKinds("u", "f", "scheduled", "cancelled/exception")
}

func TestAnExceptionLateAfterTheDueTimeIsIgnoredWhileTheDeliveryWaitsForATick(t *testing.T) {
	// The delivery is due but no Tick ran: the exception arrives stamped
	// after the due time, finds the delivery pending, and cancels nothing.
	h := started(t, nil)
	t0 := h.Now()
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Clock.Add(2 * time.Hour) // no Tick
	h.Track(interaction("u", event.EmailOpened, "newsletter"))
	d := h.RequireReason("u", "f", rule.Ignored, rule.ReasonAfterDue)
	require.Equal(t, t0.Add(2*time.Hour), d.EventTime)
	h.Tick()
	h.RequireSent("u", "f")
}

func TestTriggerThatIsAlsoAnExceptionReschedules(t *testing.T) {
	// "Send 1 h after the last visit": a repeat cancels and reschedules.
	h := started(t, func(c *rule.Campaign) {
		c.Exceptions = []rule.Exception{{Kind: event.EmailReceived, CampaignID: "newsletter"}}
	})
	t0 := h.Now()
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Advance(40 * time.Minute)
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Advance(2 * time.Hour)
	h.RequireSentAt("u", "f", t0.Add(40*time.Minute+time.Hour))
	h.RequireKinds("u", "f", "scheduled", "cancelled/exception", "scheduled", "delivered")
}

func TestStartAndEnd(t *testing.T) {
	t.Run("trigger before start is outside, at start is inside", func(t *testing.T) {
		h := started(t, func(c *rule.Campaign) { c.Start = connectortest.Start.Add(time.Hour) })
		h.Track(interaction("early", event.EmailReceived, "newsletter"))
		h.Advance(time.Hour)
		h.Track(interaction("on_time", event.EmailReceived, "newsletter"))
		h.Advance(2 * time.Hour)
		h.RequireReason("early", "f", rule.Suppressed, rule.ReasonOutsideDuration)
		h.RequireSent("on_time", "f")
	})
	t.Run("due exactly at the end is outside, a nanosecond before is inside", func(t *testing.T) {
		end := connectortest.Start.Add(2 * time.Hour)
		h := started(t, func(c *rule.Campaign) { c.End = end })
		h.TrackAt(end.Add(-time.Hour-time.Nanosecond), interaction("inside", event.EmailReceived, "newsletter"))
		h.TrackAt(end.Add(-time.Hour), interaction("at_end", event.EmailReceived, "newsletter"))
		h.AdvanceTo(end)
		h.RequireSent("inside", "f")
		d := h.RequireReason("at_end", "f", rule.Suppressed, rule.ReasonOutsideDuration)
		require.Contains(t, d.Detail, "not before end")
	})
	t.Run("a delay that can never fit is warned about", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(waitCampaign(func(c *rule.Campaign) {
			c.Start, c.End = connectortest.Start, connectortest.Start.Add(30*time.Minute)
		})...)
		var warned bool
		for _, d := range h.Decisions() {
			warned = warned || (d.Kind == rule.Warned && d.Reason == rule.ReasonDelayExceedsDuration && d.CampaignID == "f")
		}
		require.True(t, warned, h.Timeline())
	})
}

func TestBackdatedTriggerPastItsDueTimeIsDueAtOnce(t *testing.T) {
	h := started(t, nil)
	h.Advance(10 * time.Hour)
	// Reported now, happened 3 hours ago: due 2 hours ago.
	h.TrackAt(h.Now().Add(-3*time.Hour), interaction("u", event.EmailReceived, "newsletter"))
	d := h.RequireReason("u", "f", rule.Scheduled, rule.ReasonLate)
	require.Equal(t, "late by 2h0m0s", d.Detail)
	require.Equal(t, 1, h.Tick(), "due at once")
	require.Equal(t, 0, h.Tick(), "and only once")
	h.Advance(24 * time.Hour)
	h.RequireSentTimes("u", "f", 1)
}

func TestNextWeekdayOnThatWeekdayIsAWeekLater(t *testing.T) {
	// connectortest.Start is a Monday.
	h := connectortest.New(t)
	h.Save(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}},
		Delay: rule.NextWeekdayAt(time.Monday, 9, 0)})
	h.Publish("f", "o")
	h.Advance(8 * time.Hour)
	h.Track(interaction("u", event.EmailOpened, "o")) // Monday 08:00: next Monday, not in an hour
	h.Advance(8 * 24 * time.Hour)
	h.RequireSentAt("u", "f", connectortest.Start.Add(7*24*time.Hour+9*time.Hour))
}

func TestCalendarDelaysUseTheEngineLocationByDefault(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	h := connectortest.New(t, connector.WithLocation(paris))
	h.Save(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}},
		Delay: rule.InDaysAt(1, 9, 0)})
	h.Publish("f", "o")
	h.Track(interaction("u", event.EmailOpened, "o"))
	h.Advance(2 * 24 * time.Hour)
	h.RequireSentAt("u", "f", time.Date(2026, 1, 6, 9, 0, 0, 0, paris))
}

func TestOriginalsMustBeActive(t *testing.T) {
	t.Run("interactions with a draft or stopped original do not count", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}})
		h.Publish("f")
		h.Track(interaction("draft", event.EmailOpened, "o"))
		h.Publish("o")
		h.Stop("o")
		h.Track(interaction("stopped", event.EmailOpened, "o"))
		h.Tick()
		h.RequireReason("draft", "f", rule.Suppressed, rule.ReasonOriginalNotActive)
		h.RequireReason("stopped", "f", rule.Suppressed, rule.ReasonOriginalNotActive)
		h.RequireNothingSent()
	})
	t.Run("an option accepts stopped originals (opens keep coming)", func(t *testing.T) {
		h := connectortest.New(t, connector.WithStoppedOriginals())
		h.Save(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}})
		h.Publish("f")
		h.Track(interaction("draft", event.EmailOpened, "o"))
		h.Publish("o")
		h.Stop("o")
		h.Track(interaction("stopped", event.EmailOpened, "o"))
		h.Tick()
		h.RequireReason("draft", "f", rule.Suppressed, rule.ReasonOriginalNotActive)
		h.RequireSent("stopped", "f")
	})
	t.Run("non-campaign triggers need no original", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(rule.Campaign{ID: "vip_welcome", Triggers: []rule.Trigger{{Kind: event.Purchase,
			Where: []rule.Condition{rule.GreaterOrEqual("total", 100)}}}})
		h.Publish("vip_welcome")
		h.Track(event.Event{UserID: "big", Kind: event.Purchase, Name: "sku", Properties: map[string]any{"total": 120}},
			event.Event{UserID: "small", Kind: event.Purchase, Name: "sku", Properties: map[string]any{"total": json.Number("99.99")}})
		h.Tick()
		h.RequireSent("big", "vip_welcome")
		h.RequireNotSent("small", "vip_welcome")
	})
}

func TestEditsAndArchiving(t *testing.T) {
	t.Run("a pending delivery is sent with the message current at send time", func(t *testing.T) {
		h := started(t, func(c *rule.Campaign) { c.Message = []byte(`{"v":1}`) })
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.Save(waitCampaign(func(c *rule.Campaign) { c.Message = []byte(`{"v":2}`) })[1])
		rec, err := h.Engine.Campaign(context.Background(), "f")
		require.NoError(t, err)
		require.Equal(t, rule.Active, rec.State, "an edit keeps the state")
		h.Advance(time.Hour)
		require.JSONEq(t, `{"v":2}`, string(h.RequireSent("u", "f").Message))
	})
	t.Run("archiving cancels pending deliveries", func(t *testing.T) {
		h := started(t, nil)
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.Archive("f")
		h.Advance(2 * time.Hour)
		h.RequireNotSent("u", "f")
		d := h.RequireReason("u", "f", rule.Cancelled, rule.ReasonCampaignStopped)
		require.Equal(t, "archive", d.Detail)
	})
	t.Run("archiving an original ends its follow-ups' triggers", func(t *testing.T) {
		h := started(t, nil)
		h.Archive("newsletter")
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.RequireReason("u", "f", rule.Suppressed, rule.ReasonOriginalNotActive)
	})
}

func TestOnePendingDeliveryPerUserByDefault(t *testing.T) {
	h := started(t, nil)
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Advance(10 * time.Minute)
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Track(interaction("v", event.EmailReceived, "newsletter"))
	h.Advance(2 * time.Hour)
	h.RequireSentAt("u", "f", connectortest.Start.Add(time.Hour))
	h.RequireKinds("u", "f", "scheduled", "suppressed/already_pending", "delivered")
	h.RequireSent("v", "f")
}

func TestSendRetries(t *testing.T) {
	t.Run("errors retry with the same ID, then succeed", func(t *testing.T) {
		h := started(t, nil)
		fails := 2
		h.Sender.Fail = func(connector.Delivery) error {
			if fails > 0 {
				fails--
				return errors.New("smtp 451")
			}
			return nil
		}
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.Advance(time.Hour)
		h.RequireNotSent("u", "f")
		h.Advance(time.Hour) // backoff 1 min, then 2 min
		d := h.RequireSent("u", "f")
		attempts := h.Sender.Attempts()
		require.Len(t, attempts, 3)
		for i, a := range attempts {
			require.Equal(t, d.ID, a.ID, "stable delivery ID")
			require.Equal(t, i+1, a.Attempt)
		}
		require.Equal(t, connectortest.Start.Add(time.Hour+3*time.Minute), h.Sender.SentAt(d.ID), "1 min then 2 min of backoff")
		h.RequireKinds("u", "f", "scheduled", "retried/send_error", "retried/send_error", "delivered")
	})
	t.Run("after the last attempt the delivery fails and does not count as received", func(t *testing.T) {
		h := started(t, func(c *rule.Campaign) { c.Reeligibility = rule.OnceOnly() })
		h.Sender.Fail = func(connector.Delivery) error { return errors.New("down") }
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.Advance(3 * time.Hour)
		d := h.RequireReason("u", "f", rule.Failed, rule.ReasonSendError)
		require.Equal(t, 3, d.Attempt)
		require.Equal(t, "down", d.Detail)
		require.Len(t, h.Sender.Attempts(), 3)
		// Not received: the next trigger schedules again.
		h.Sender.Fail = nil
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.Advance(time.Hour)
		h.RequireSent("u", "f")
	})
	t.Run("receipt time is when the sender accepted it", func(t *testing.T) {
		h := started(t, func(c *rule.Campaign) { c.Reeligibility = rule.ReeligibleAfter(24 * time.Hour) })
		h.Sender.Fail = func(d connector.Delivery) error {
			if d.Attempt == 1 {
				return errors.New("later")
			}
			return nil
		}
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.Advance(2 * time.Hour)
		received := connectortest.Start.Add(time.Hour + time.Minute)
		h.AdvanceTo(received.Add(24*time.Hour - time.Second))
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.RequireReason("u", "f", rule.Suppressed, rule.ReasonNotReeligible)
		h.AdvanceTo(received.Add(24 * time.Hour))
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.RequireReason("u", "f", rule.Scheduled, "")
		h.RequireKinds("u", "f", "scheduled", "retried/send_error", "delivered", "suppressed/not_reeligible", "scheduled")
	})
}

func TestEventIDsAreRememberedForTheDedupWindow(t *testing.T) {
	h := started(t, func(c *rule.Campaign) { c.Reeligibility = rule.ReeligibleAfter(0); c.Delay = rule.After(time.Minute) },
		connector.WithDedupWindow(time.Hour))
	ev := event.Event{ID: "e1", UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter"}
	h.Track(ev)
	h.Advance(59 * time.Minute)
	h.Track(ev)
	h.RequireReason("u", "f", rule.Duplicate, rule.ReasonDuplicateEvent)
	h.Advance(time.Minute)
	ev.Time = time.Time{}
	h.Track(ev) // the window ended: the ID is new again
	h.Advance(time.Hour)
	h.RequireSentTimes("u", "f", 2)
	// The same ID for another user is another event.
	ev.UserID = "v"
	h.Track(ev)
	h.Advance(time.Hour)
	h.RequireSent("v", "f")
}

func TestDecisionLogInTheStore(t *testing.T) {
	h := started(t, nil)
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Advance(2 * time.Hour)
	u, err := h.Store.User(context.Background(), "", "u")
	require.NoError(t, err)
	var kinds []rule.DecisionKind
	for _, d := range u.Log {
		kinds = append(kinds, d.Kind)
	}
	require.Equal(t, []rule.DecisionKind{rule.Scheduled, rule.Delivered}, kinds)
	r, ok := u.Receipt("f")
	require.True(t, ok)
	require.Equal(t, connectortest.Start.Add(time.Hour), r.At)
}

func TestPropertiesAreCopied(t *testing.T) {
	h := started(t, nil)
	props := map[string]any{"nested": map[string]any{"k": "v"}, "list": []any{"a"}}
	h.Track(event.Event{UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter", Properties: props})
	props["nested"].(map[string]any)["k"] = "changed"
	props["list"].([]any)[0] = "changed"
	props["new"] = 1
	h.Advance(time.Hour)
	d := h.RequireSent("u", "f")
	require.Equal(t, map[string]any{"nested": map[string]any{"k": "v"}, "list": []any{"a"}}, d.Trigger.Properties)
}

func TestNewRejectsBadOptions(t *testing.T) {
	h := connectortest.New(t)
	bad := []connector.Option{
		connector.WithClock(nil), connector.WithLocation(nil), connector.WithObserver(nil),
		connector.WithDedupWindow(0), connector.WithLease(-1), connector.WithBatchSize(0),
		connector.WithRetryPolicy(connector.RetryPolicy{}), connector.WithDecisionLog(0, time.Hour),
		connector.WithPruneInterval(0), connector.WithPollInterval(0), connector.WithSendTimeout(0),
		connector.WithNamespace(string(make([]byte, 200))), connector.WithLimits(event.Limits{MaxDepth: -1}), nil,
		connector.WithLogger(nil), connector.WithInstrumentation(nil),
	}
	for i, o := range bad {
		_, err := connector.New(h.Store, h.Sender, o)
		require.ErrorIs(t, err, connector.ErrInvalidOption, "option %d", i)
	}
	_, err := connector.New(nil, h.Sender)
	require.ErrorIs(t, err, connector.ErrInvalidOption)
	_, err = connector.New(h.Store, nil)
	require.ErrorIs(t, err, connector.ErrInvalidOption)
}

func TestDedupAllRemembersEventsNothingListensTo(t *testing.T) {
	for _, all := range []bool{false, true} {
		var opts []connector.Option
		if all {
			opts = append(opts, connector.WithDedupAll())
		}
		h := connectortest.New(t, opts...)
		h.Save(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}})
		h.Publish("o")
		ev := event.Event{ID: "e1", UserID: "u", Kind: event.EmailOpened, CampaignID: "o"} // no Time: "now"
		h.Track(ev)                                                                        // nothing listens yet
		h.Advance(time.Hour)
		h.Publish("f")
		h.Advance(time.Hour)
		h.Track(ev) // the provider's retry
		h.Tick()
		if all {
			h.RequireNotSent("u", "f")
			h.RequireKinds("u", "f", "duplicate/duplicate_event")
		} else {
			// Documented: without WithDedupAll the retry of an event nothing
			// listened to is new, and without a Time it happens now.
			h.RequireSent("u", "f")
		}
	}
}

func TestLateTriggerInsideTheReeligibilityWindowIsSuppressedAfterAPrune(t *testing.T) {
	// The receipt outlives the re-eligibility window: a trigger stamped
	// inside the window but reported after it (and after a prune) is
	// still not re-eligible.
	h := connectortest.New(t, connector.WithPruneInterval(time.Minute))
	h.Save(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f", Reeligibility: rule.ReeligibleAfter(30 * time.Minute),
		Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}})
	h.Publish("f", "o")
	h.Track(opened("u"))
	h.Tick()
	received := h.Now()
	h.Advance(3 * time.Hour) // well past the window; Tick has pruned
	h.TrackAt(received.Add(10*time.Minute), opened("u"))
	h.Tick()
	h.RequireSentTimes("u", "f", 1)
	h.RequireReason("u", "f", rule.Suppressed, rule.ReasonNotReeligible)
}
