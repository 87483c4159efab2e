package simulate_test

import (
	"fmt"
	"testing"
	"time"
	_ "time/tzdata" // the zones must not depend on the machine's tz database

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/stretchr/testify/require"
)

// The flows below are campaigns a host would prototype, each checked
// against times and outcomes worked out by hand from the rules in docs/.

// newSim returns a simulator at start that prints its timeline if the
// test fails.
func newSim(t *testing.T, start time.Time, opts ...connector.Option) *simulate.Simulator {
	t.Helper()
	sim, err := simulate.New(start, opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			for _, d := range sim.Decisions() {
				t.Log(d.String())
			}
		}
	})
	return sim
}

// sentAt maps "user campaign" to the time of each accepted delivery.
func sentAt(sim *simulate.Simulator) map[string]time.Time {
	out := map[string]time.Time{}
	for _, d := range sim.Sent() {
		out[d.UserID+" "+d.CampaignID] = sim.Sender.SentAt(d.ID)
	}
	return out
}

// reasons returns the kind and reason of each decision about a user, in
// order, as "kind/reason" (or "kind").
func reasons(sim *simulate.Simulator, user string) []string {
	var out []string
	for _, d := range sim.Decisions() {
		if d.UserID == user {
			s := string(d.Kind)
			if d.Reason != "" {
				s += "/" + string(d.Reason)
			}
			out = append(out, s)
		}
	}
	return out
}

// A week's resend to non-openers, unless they bought: same-second opens
// in both orders, an open stamped before the receipt, a purchase reported
// late, one stamped at the due time, a second receipt, a late receipt,
// and a stop and resume mid-run.
func TestFlowResendWithPurchaseException(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	day, week := 24*time.Hour, 7*24*time.Hour
	sim := newSim(t, start)
	require.NoError(t, sim.Apply(rule.Campaign{ID: "newsletter"}, rule.Campaign{
		ID:       "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:    rule.After(week),
		Exceptions: []rule.Exception{
			{Kind: event.EmailOpened, CampaignID: "newsletter"},
			{Kind: event.Purchase},
		},
	}))
	ev := func(id, user string, kind event.Kind, at time.Time) event.Event {
		e := event.Event{ID: id, UserID: user, Kind: kind, Time: at}
		if kind != event.Purchase {
			e.CampaignID = "newsletter"
		}
		return e
	}
	rcv, open, buy := event.EmailReceived, event.EmailOpened, event.Purchase
	require.NoError(t, sim.Track(
		ev("a1", "a", rcv, start), ev("a2", "a", open, start), // same second, open second: cancels
		ev("b2", "b", open, start), ev("b1", "b", rcv, start), // same second, open first: nothing to cancel
		ev("c1", "c", rcv, start),
		ev("d1", "d", rcv, start.Add(time.Hour)), ev("d2", "d", open, start.Add(30*time.Minute)), // open before the receipt
		ev("e1", "e", rcv, start),
		ev("f1", "f", rcv, start),
	))
	_, err := sim.Advance(time.Hour)
	require.NoError(t, err)
	require.NoError(t, sim.Track(ev("e2", "e", rcv, sim.Now()))) // e already waits
	_, err = sim.AdvanceTo(start.Add(3 * day))
	require.NoError(t, err)
	require.NoError(t, sim.Track(
		ev("c2", "c", buy, start.Add(day)),  // reported two days late, while c waits: cancels
		ev("f2", "f", buy, start.Add(week)), // stamped at the due time: the wait is over
	))
	_, err = sim.AdvanceTo(start.Add(10 * day))
	require.NoError(t, err)
	require.NoError(t, sim.Track(
		ev("g1", "g", rcv, start.Add(day)), // due day 8, reported day 10: due at once
		ev("i1", "i", rcv, sim.Now()),
	))
	_, err = sim.AdvanceTo(start.Add(12 * day))
	require.NoError(t, err)
	require.NoError(t, sim.Engine.Stop(t.Context(), "resend")) // cancels i's
	_, err = sim.Advance(time.Hour)
	require.NoError(t, err)
	require.NoError(t, sim.Track(ev("j1", "j", rcv, sim.Now()))) // while stopped: lost, no decision
	_, err = sim.AdvanceTo(start.Add(13 * day))
	require.NoError(t, err)
	require.NoError(t, sim.Publish("resend"))
	require.NoError(t, sim.Track(
		ev("k1", "k", rcv, sim.Now()),
		ev("j2", "j", rcv, start.Add(12*day+2*time.Hour)), // stamped during the stop, reported after it
	))
	_, err = sim.AdvanceTo(start.Add(30 * day))
	require.NoError(t, err)

	require.Equal(t, map[string]time.Time{
		"b resend": start.Add(week),
		"d resend": start.Add(time.Hour + week),
		"e resend": start.Add(week),
		"f resend": start.Add(week),
		"g resend": start.Add(10 * day),
		"k resend": start.Add(13*day + week),
	}, sentAt(sim))
	for user, want := range map[string][]string{
		"a": {"scheduled", "cancelled/exception"},
		"b": {"scheduled", "delivered"},
		"c": {"scheduled", "cancelled/exception"},
		"d": {"scheduled", "ignored/before_trigger", "delivered"},
		"e": {"scheduled", "suppressed/already_pending", "delivered"},
		"f": {"scheduled", "ignored/after_due", "delivered"},
		"g": {"scheduled/late", "delivered"},
		"i": {"scheduled", "cancelled/campaign_stopped"},
		"j": {"suppressed/before_activation"},
		"k": {"scheduled", "delivered"},
	} {
		require.Equal(t, want, reasons(sim, user), "user %s", user)
	}
}

// A coupon a day after a click, reminders on the next day's wall clock,
// quiet hours from 21:00 to 08:00 deferring, and one push per Paris
// calendar day, over the night clocks go forward (29 March 2026, 02:00
// CET → 03:00 CEST) and the night they go back (25 October, 03:00 CEST →
// 02:00 CET).
func TestFlowCouponUnderQuietHoursAcrossDST(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	march := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, time.UTC) }
	sim := newSim(t, march(28, 0, 0),
		connector.WithLocation(paris),
		connector.WithQuietHours(connector.QuietHours{From: rule.At(21, 0), To: rule.At(8, 0), Defer: true}),
		connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Channel: event.Push, Days: 1}),
	)
	require.NoError(t, sim.Apply(
		rule.Campaign{ID: "free_shipping", Channel: event.Push},
		rule.Campaign{ID: "coupon", Channel: event.Push,
			Triggers: []rule.Trigger{{Kind: event.PushButtonClicked, CampaignID: "free_shipping"}},
			Delay:    rule.After(24 * time.Hour)},
		rule.Campaign{ID: "reminder", Channel: event.Push,
			Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "free_shipping"}},
			Delay:    rule.InDaysAt(1, 9, 30)},
		rule.Campaign{ID: "digest", Channel: event.Email, // not capped: the cap counts pushes
			Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "free_shipping"}},
			Delay:    rule.InDaysAt(1, 2, 30)},
	))
	ev := func(user string, kind event.Kind, at time.Time) event.Event {
		return event.Event{UserID: user, Kind: kind, CampaignID: "free_shipping", Time: at}
	}
	require.NoError(t, sim.Track(
		// 20:30 CET; 24 h later is 21:30 CEST, in quiet hours: Monday 08:00 CEST.
		ev("u1", event.PushButtonClicked, march(28, 19, 30)),
		// 10:00 CET; 24 h later is 11:00 CEST, an hour later on the wall clock.
		ev("u2", event.PushButtonClicked, march(28, 9, 0)),
		// Sunday 09:30 CEST, then the coupon at 11:10 CEST the same Paris day: capped.
		ev("u3", event.PushReceived, march(28, 9, 0)),
		ev("u3", event.PushButtonClicked, march(28, 9, 10)),
		// Sunday 02:30 does not exist: 03:00 CEST, in quiet hours: 08:00 CEST.
		ev("u4", event.PushOpened, march(28, 9, 0)),
	))
	_, err = sim.AdvanceTo(march(31, 0, 0))
	require.NoError(t, err)
	require.Equal(t, map[string]time.Time{
		"u1 coupon":   march(30, 6, 0),
		"u2 coupon":   march(29, 9, 0),
		"u3 reminder": march(29, 7, 30),
		"u4 digest":   march(29, 6, 0),
	}, sentAt(sim))
	require.Equal(t, []string{"scheduled", "deferred/quiet_hours", "delivered"}, reasons(sim, "u1"))
	require.Equal(t, []string{"scheduled", "scheduled", "delivered", "suppressed/frequency_capped"}, reasons(sim, "u3"))
	require.Equal(t, []string{"scheduled", "deferred/quiet_hours", "delivered"}, reasons(sim, "u4"))

	// In October the hour from 02:00 to 03:00 happens twice. Quiet hours
	// from 22:00 to 02:30 end at each 02:30 (00:30 and 01:30 UTC), and
	// the change back to 02:00 CET at 01:00 UTC makes them quiet again.
	october := func(d, h, m int) time.Time { return time.Date(2026, 10, d, h, m, 0, 0, time.UTC) }
	sim = newSim(t, october(24, 20, 0),
		connector.WithLocation(paris),
		connector.WithQuietHours(connector.QuietHours{From: rule.At(22, 0), To: rule.At(2, 30), Defer: true}))
	require.NoError(t, sim.Apply(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f",
		Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}, Delay: rule.After(time.Hour)}))
	for user, trigger := range map[string]time.Time{
		"a": october(24, 23, 15), // due 02:15 CEST: quiet until 02:30 CEST
		"b": october(24, 23, 45), // due 02:45 CEST: after the first 02:30
		"c": october(25, 0, 10),  // due 02:10 CET, the second pass: quiet until 02:30 CET
		"d": october(25, 0, 15),  // due 02:15 CET
	} {
		require.NoError(t, sim.Track(event.Event{UserID: user, Kind: event.EmailOpened, CampaignID: "o", Time: trigger}))
	}
	_, err = sim.AdvanceTo(october(26, 0, 0))
	require.NoError(t, err)
	require.Equal(t, map[string]time.Time{
		"a f": october(25, 0, 30), "b f": october(25, 0, 45), "c f": october(25, 1, 30), "d f": october(25, 1, 30),
	}, sentAt(sim))
}

// A reminder with a control group of 30 %: a hold-out gets nothing, opens
// a conversion window and triggers an immediate survey at that instant; a
// purchase cancels the wait before anyone is held out; re-eligibility
// counts the hold-out as a receipt.
func TestFlowControlGroup(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	var held, sent []string // users on each side of the reminder's group
	for i := 0; len(held) < 2 || len(sent) < 2; i++ {
		user := fmt.Sprintf("user%d", i)
		if rule.ControlBucket(user, "cart_reminder") < 30 {
			held = append(held, user)
		} else {
			sent = append(sent, user)
		}
	}
	h1, h2, s1, s2 := held[0], held[1], sent[0], sent[1]
	sim := newSim(t, start)
	require.NoError(t, sim.Apply(
		rule.Campaign{ID: "abandoned_cart"},
		rule.Campaign{ID: "cart_reminder",
			Triggers:       []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Delay:          rule.After(day),
			Exceptions:     []rule.Exception{{Kind: event.Purchase}},
			Reeligibility:  rule.ReeligibleAfter(2 * day),
			ControlPercent: 30,
			Conversions:    []rule.Conversion{{ID: "bought", Kind: event.Purchase, Deadline: 3 * day}},
		},
		rule.Campaign{ID: "survey", // once only, at once
			Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "cart_reminder"}}},
	))
	rcv := func(user string) event.Event {
		return event.Event{UserID: user, Kind: event.PushReceived, CampaignID: "abandoned_cart"}
	}
	buy := func(user string) event.Event { return event.Event{UserID: user, Kind: event.Purchase, Name: "sku"} }
	require.NoError(t, sim.Track(rcv(h1), rcv(h2), rcv(s1), rcv(s2)))
	_, err := sim.Advance(time.Hour)
	require.NoError(t, err)
	require.NoError(t, sim.Track(buy(h2))) // cancels h2's wait: never held out
	_, err = sim.Advance(day)              // day 1, 10:00
	require.NoError(t, err)
	// h1's purchase falls in the window the hold-out opened; s1's in none:
	// the sender's acceptance is no receipt, and none was reported.
	require.NoError(t, sim.Track(buy(h1), buy(s1)))
	_, err = sim.Advance(day) // day 2, 10:00: 25 h after h1's hold-out
	require.NoError(t, err)
	require.NoError(t, sim.Track(rcv(h1))) // not eligible again before day 3, 09:00
	_, err = sim.AdvanceTo(start.Add(3 * day))
	require.NoError(t, err)
	require.NoError(t, sim.Track(rcv(h1))) // exactly 48 h after: scheduled, held out again on day 4
	_, err = sim.AdvanceTo(start.Add(10 * day))
	require.NoError(t, err)

	require.Equal(t, map[string]time.Time{
		h1 + " survey":        start.Add(day),
		s1 + " cart_reminder": start.Add(day),
		s2 + " cart_reminder": start.Add(day),
	}, sentAt(sim))
	require.Equal(t, []string{
		"scheduled", "held_out/control_group", "scheduled", "delivered", // the survey at the hold-out's instant
		"converted/control_group", "suppressed/not_reeligible", // a held-out user's conversion
		"scheduled", "held_out/control_group", "suppressed/not_reeligible", // the survey is once only
	}, reasons(sim, h1))
	require.Equal(t, []string{"scheduled", "cancelled/exception"}, reasons(sim, h2))
	require.Equal(t, []string{"scheduled", "delivered"}, reasons(sim, s1))
}
