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

// A late trigger that a send window with NextAvailable moves to its next
// opening is due then, not at once: its scheduled decision shows the
// opening, without the reason late.
func TestALateTriggerMovedByTheWindowIsNotLate(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	dir := newDirectory()
	dir.zones["u"] = paris
	h := connectortest.New(t, connector.WithDirectory(dir))
	followUp(h, func(c *rule.Campaign) {
		c.Delay = rule.InDaysAt(0, 8, 0)
		c.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 0), NextAvailable: true}
	})
	day := time.Date(2026, 1, 6, 0, 0, 0, 0, paris)
	h.AdvanceTo(day.Add(20 * time.Hour))
	h.Track(opened("u"))
	h.Advance(24 * time.Hour)
	h.RequireSentAt("u", "f", day.Add(33*time.Hour))
	h.RequireKinds("u", "f", "scheduled", "delivered")
	h.RequireNoReason("u", "f", rule.Scheduled, rule.ReasonLate)
}

// Quiet hours that end exactly at the due time plus the maximum deferral
// defer the delivery there; a nanosecond less of deferral drops it.
func TestQuietHoursDeferExactlyToTheMaximumDeferral(t *testing.T) {
	for _, tc := range []struct {
		maxDeferral time.Duration
		want        []string
	}{
		{9 * time.Hour, []string{"scheduled", "deferred/quiet_hours", "delivered"}},
		{9*time.Hour - time.Nanosecond, []string{"scheduled", "suppressed/quiet_hours"}},
	} {
		h := connectortest.New(t, connector.WithMaxDeferral(tc.maxDeferral),
			connector.WithQuietHours(connector.QuietHours{From: rule.At(22, 0), To: rule.At(7, 0), Defer: true}))
		followUp(h, nil)
		h.AdvanceTo(connectortest.Start.Add(22 * time.Hour)) // 22:00 UTC, the engine's zone
		h.Track(opened("u"))
		h.Advance(24 * time.Hour)
		h.RequireKinds("u", "f", tc.want...)
	}
}

// The send-time checks read the user's zone when the delivery is sent,
// while the due time stays as computed when it was scheduled: a user who
// moved from New York to Paris after the trigger has an InDaysAt(1, 9, 0)
// delivery due at 09:00 New York time, 15:00 in Paris, inside quiet
// hours of 14:00–16:00 read in Paris, which defer it to 16:00 Paris time.
func TestTheZoneAtSendTimeIsTheUsersZoneThen(t *testing.T) {
	ny, paris := zone(t, "America/New_York"), zone(t, "Europe/Paris")
	dir := newDirectory()
	dir.zones["u"] = ny
	h := connectortest.New(t, connector.WithDirectory(dir),
		connector.WithQuietHours(connector.QuietHours{From: rule.At(14, 0), To: rule.At(16, 0), Defer: true}))
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.InDaysAt(1, 9, 0) })
	h.AdvanceTo(time.Date(2026, 1, 6, 12, 0, 0, 0, ny))
	h.Track(opened("u"))
	dir.mu.Lock()
	dir.zones["u"] = paris
	dir.mu.Unlock()
	h.Advance(2 * 24 * time.Hour)
	d := h.RequireReason("u", "f", rule.Scheduled, "")
	require.Equal(t, time.Date(2026, 1, 7, 9, 0, 0, 0, ny), d.DueAt.In(ny), "due time computed in the zone at the trigger")
	h.RequireSentAt("u", "f", time.Date(2026, 1, 7, 16, 0, 0, 0, paris))
}

// The window is judged to the minute, so the last nanosecond before To is
// inside and To itself is not, whatever the fraction of a second.
func TestSendWindowEdgesToTheNanosecond(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) {
		c.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 0)}
	})
	day := connectortest.Start.Add(24 * time.Hour)
	h.AdvanceTo(day.Add(9*time.Hour - time.Nanosecond))
	h.Track(opened("before"))
	h.AdvanceTo(day.Add(18*time.Hour - time.Nanosecond))
	h.Track(opened("last"))
	h.AdvanceTo(day.Add(18 * time.Hour))
	h.Track(opened("to"))
	h.Advance(time.Hour)
	h.RequireReason("before", "f", rule.Suppressed, rule.ReasonOutsideSendWindow)
	h.RequireSentAt("last", "f", day.Add(18*time.Hour-time.Nanosecond))
	h.RequireReason("to", "f", rule.Suppressed, rule.ReasonOutsideSendWindow)
}

// A directory may give time.Local or time.UTC: both are zones like any
// other, and the engine reads the wall clock in them.
func TestADirectoryGivingLocalOrUTC(t *testing.T) {
	dir := newDirectory()
	dir.zones["local"], dir.zones["utc"] = time.Local, time.UTC
	h := connectortest.New(t, connector.WithDirectory(dir), connector.WithLocation(zone(t, "Asia/Kathmandu")))
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.InDaysAt(1, 9, 0) })
	h.Track(opened("local"), opened("utc"), opened("nil"))
	h.Advance(3 * 24 * time.Hour)
	y, m, d := connectortest.Start.In(time.Local).Date()
	h.RequireSentAt("local", "f", time.Date(y, m, d+1, 9, 0, 0, 0, time.Local))
	h.RequireSentAt("utc", "f", time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC))
	// No zone: the engine's, Kathmandu (+05:45), where Start is 05:45.
	h.RequireSentAt("nil", "f", time.Date(2026, 1, 6, 9, 0, 0, 0, zone(t, "Asia/Kathmandu")))
}

// Apia skipped 30 December 2011 (29 December 24:00 -10 → 31 December
// 00:00 +14). A cap of one email per two calendar days counts today and
// the calendar day before: on the 31st, the day before is the 30th,
// which had no instant, so a send on the 29th does not count.
func TestDayCapAcrossTheDayApiaSkipped(t *testing.T) {
	apia := zone(t, "Pacific/Apia")
	dir := newDirectory()
	dir.zones["u"] = apia
	h := harnessAt(t, time.Date(2011, 12, 28, 0, 0, 0, 0, time.UTC), connector.WithDirectory(dir),
		connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Channel: event.Email, Days: 2}))
	followUp(h, func(c *rule.Campaign) { c.Reeligibility = rule.ReeligibleAfter(0) })
	sendAt(h, time.Date(2011, 12, 29, 12, 0, 0, 0, apia), "u")
	sendAt(h, time.Date(2011, 12, 31, 0, 0, 0, 0, apia), "u") // the first instant of the 31st, 12 hours later
	h.RequireSentTimes("u", "f", 2)
}

// An After delay is elapsed time, whatever the calendar says: 24 hours
// after 09:00 on the day before New York springs forward (8 March 2026)
// is 10:00 on the 8th by the wall clock; after the day before it falls
// back (1 November), 08:00.
func TestAfterIsElapsedTimeAcrossDaylightSaving(t *testing.T) {
	ny := zone(t, "America/New_York")
	dir := newDirectory()
	dir.zones["spring"], dir.zones["autumn"] = ny, ny
	h := connectortest.New(t, connector.WithDirectory(dir), connector.WithLocation(ny))
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.After(24 * time.Hour) })
	h.AdvanceTo(time.Date(2026, 3, 7, 9, 0, 0, 0, ny))
	h.Track(opened("spring"))
	h.AdvanceTo(time.Date(2026, 3, 9, 0, 0, 0, 0, ny))
	h.RequireSentAt("spring", "f", time.Date(2026, 3, 8, 10, 0, 0, 0, ny))
	h.AdvanceTo(time.Date(2026, 10, 31, 9, 0, 0, 0, ny))
	h.Track(opened("autumn"))
	h.AdvanceTo(time.Date(2026, 11, 2, 0, 0, 0, 0, ny))
	h.RequireSentAt("autumn", "f", time.Date(2026, 11, 1, 8, 0, 0, 0, ny))
}
