package connector_test

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/stretchr/testify/require"
)

// dayCapHarness has a follow-up "f" on email_opened of "o", re-eligible at
// once, with a cap of one email per calendar day of the user's zone.
func dayCapHarness(t *testing.T, start time.Time, user string, loc *time.Location) *connectortest.Harness {
	dir := newDirectory()
	dir.zones[user] = loc
	h := harnessAt(t, start, connector.WithDirectory(dir),
		connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Channel: event.Email, Days: 1}))
	followUp(h, func(c *rule.Campaign) { c.Reeligibility = rule.ReeligibleAfter(0) })
	return h
}

// harnessAt is connectortest.New with the clock at start.
func harnessAt(t *testing.T, start time.Time, opts ...connector.Option) *connectortest.Harness {
	t.Helper()
	base := []connector.Option{
		connector.WithDecisionLog(1000, 400*24*time.Hour),
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Minute, Max: time.Hour}),
	}
	sim, err := simulate.New(start, append(base, opts...)...)
	require.NoError(t, err)
	return &connectortest.Harness{Simulator: sim, T: t}
}

func sendAt(h *connectortest.Harness, at time.Time, user string) {
	h.T.Helper()
	h.AdvanceTo(at)
	h.Track(opened(user))
	h.Tick()
}

// Santiago skips midnight when its clocks go forward (6 September 2026,
// 00:00 -04 → 01:00 -03, at 04:00 UTC): the 6th begins at 01:00. A day
// cap counts a send at 23:30 on the 5th for the 5th only; the first
// instant of the 6th is a new day.
func TestDayCapWhenTheClocksSkipMidnight(t *testing.T) {
	santiago := zone(t, "America/Santiago")
	h := dayCapHarness(t, connectortest.Start, "u", santiago)
	sendAt(h, time.Date(2026, 9, 5, 23, 30, 0, 0, santiago), "u")
	sendAt(h, time.Date(2026, 9, 6, 3, 59, 0, 0, time.UTC), "u") // 23:59 -04, the 5th: capped
	sendAt(h, time.Date(2026, 9, 6, 4, 0, 0, 0, time.UTC), "u")  // 01:00 -03, the 6th
	h.RequireSentTimes("u", "f", 2)
	h.RequireKinds("u", "f", "scheduled", "delivered", "scheduled", "suppressed/frequency_capped", "scheduled", "delivered")
}

// Havana repeated midnight when its clocks went back (4 November 2012,
// 01:00 CDT → 00:00 CST, at 05:00 UTC): the 4th began at the first 00:00.
// A send at 00:30 of the first pass and one at 00:15 of the second are on
// the same day.
func TestDayCapWhenTheClocksRepeatMidnight(t *testing.T) {
	havana := zone(t, "America/Havana")
	h := dayCapHarness(t, time.Date(2012, 11, 3, 0, 0, 0, 0, time.UTC), "u", havana)
	sendAt(h, time.Date(2012, 11, 4, 4, 30, 0, 0, time.UTC), "u") // 00:30 CDT
	sendAt(h, time.Date(2012, 11, 4, 5, 15, 0, 0, time.UTC), "u") // 00:15 CST: the same day, capped
	sendAt(h, time.Date(2012, 11, 5, 5, 0, 0, 0, time.UTC), "u")  // 00:00 CST on the 5th
	h.RequireSentTimes("u", "f", 2)
	h.RequireKinds("u", "f", "scheduled", "delivered", "scheduled", "suppressed/frequency_capped", "scheduled", "delivered")
}

// A late trigger is due at once: the send window is judged when it will
// be sent, not at its computed due time, which has passed. InDaysAt(0,
// 8, 0) triggered at 14:00 inside a 09:00–18:00 window is sent at 14:00;
// triggered at 20:00, it is outside.
func TestALateTriggerIsJudgedByTheWindowWhenItIsSent(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	dir := newDirectory()
	dir.zones["in"], dir.zones["out"] = paris, paris
	h := connectortest.New(t, connector.WithDirectory(dir))
	followUp(h, func(c *rule.Campaign) {
		c.Delay = rule.InDaysAt(0, 8, 0)
		c.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 0)}
	})
	day := time.Date(2026, 1, 6, 0, 0, 0, 0, paris)
	h.AdvanceTo(day.Add(14 * time.Hour))
	h.Track(opened("in"))
	h.Tick()
	h.AdvanceTo(day.Add(20 * time.Hour))
	h.Track(opened("out"))
	h.Tick()
	h.RequireSentAt("in", "f", day.Add(14*time.Hour))
	h.RequireReason("out", "f", rule.Suppressed, rule.ReasonOutsideSendWindow)
}
