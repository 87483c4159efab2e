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
// (IDs are per user). AllowParallel and ReeligibleAfter(0) make
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

// A zero delay is immediate: After(0) and {"after":"0s"} cannot carry
// exceptions.
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
// longest delay is tracked without error.
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

// A refused event leaves no trace, its ID included: a corrected copy with
// the same ID, in the same batch or later, is processed (no state
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
