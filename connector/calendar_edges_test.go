package connector_test

import (
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
)

// calHarness starts at start (which may be before connectortest.Start),
// with follow-up f of the original o on delay.
func calHarness(t *testing.T, start time.Time, delay rule.Delay, opts ...connector.Option) *connectortest.Harness {
	t.Helper()
	base := []connector.Option{connector.WithDecisionLog(1000, 400*24*time.Hour)}
	sim, err := simulate.New(start, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	h := &connectortest.Harness{Simulator: sim, T: t}
	followUp(h, func(c *rule.Campaign) { c.Delay = delay })
	h.Advance(time.Second)
	return h
}

// Calendar delays through the engine, in its default location, across
// the clock changes of zones with unusual ones: a skipped wall time moves
// to the change, a repeated one takes its first occurrence, Apia's
// skipped 30 December 2011 goes to the change, Santiago changes at
// midnight, Lord Howe by half an hour; a trigger at the target time on
// the target weekday goes a week later, and one at the target time of
// InDaysAt(0, …) is due at once without being late.
func TestCalendarDelaysAtTheEdgesOfZones(t *testing.T) {
	ny := zone(t, "America/New_York")
	lon := zone(t, "Europe/London")
	lh := zone(t, "Australia/Lord_Howe")
	apia := zone(t, "Pacific/Apia")
	scl := zone(t, "America/Santiago")
	type tc struct {
		name    string
		loc     *time.Location
		delay   rule.Delay
		trigger time.Time
		want    time.Time
		late    bool
	}
	all := []tc{
		{"ny spring InDays 02:30", ny, rule.InDaysAt(1, 2, 30), time.Date(2026, 3, 7, 12, 0, 0, 0, ny), time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), false},
		{"ny fall InDays 01:30 first", ny, rule.InDaysAt(1, 1, 30), time.Date(2026, 10, 31, 12, 0, 0, 0, ny), time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), false},
		{"london spring 01:30 skipped", lon, rule.NextWeekdayAt(time.Sunday, 1, 30), time.Date(2026, 3, 27, 12, 0, 0, 0, lon), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), false},
		{"london fall 01:30 first", lon, rule.NextWeekdayAt(time.Sunday, 1, 30), time.Date(2026, 10, 20, 12, 0, 0, 0, lon), time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), false},
		{"lord howe 02:15 skipped", lh, rule.InDaysAt(1, 2, 15), time.Date(2026, 10, 3, 12, 0, 0, 0, lh), time.Date(2026, 10, 3, 15, 30, 0, 0, time.UTC), false},
		{"apia skipped day", apia, rule.InDaysAt(1, 9, 0), time.Date(2011, 12, 29, 12, 0, 0, 0, apia), time.Date(2011, 12, 30, 10, 0, 0, 0, time.UTC), false},
		{"apia next friday", apia, rule.NextWeekdayAt(time.Friday, 9, 0), time.Date(2011, 12, 29, 12, 0, 0, 0, apia), time.Date(2011, 12, 30, 10, 0, 0, 0, time.UTC), false},
		{"apia over skipped day 2 days", apia, rule.InDaysAt(2, 9, 0), time.Date(2011, 12, 29, 12, 0, 0, 0, apia), time.Date(2011, 12, 30, 19, 0, 0, 0, time.UTC), false},
		{"santiago midnight skipped", scl, rule.InDaysAt(1, 0, 0), time.Date(2026, 9, 5, 12, 0, 0, 0, scl), time.Date(2026, 9, 6, 4, 0, 0, 0, time.UTC), false},
		{"santiago next sunday midnight skipped", scl, rule.NextWeekdayAt(time.Sunday, 0, 30), time.Date(2026, 9, 1, 12, 0, 0, 0, scl), time.Date(2026, 9, 6, 4, 0, 0, 0, time.UTC), false},
		{"exact target weekday time", ny, rule.NextWeekdayAt(time.Monday, 9, 0), time.Date(2026, 3, 9, 9, 0, 0, 0, ny), time.Date(2026, 3, 16, 9, 0, 0, 0, ny), false},
		{"in 0 days exactly at", ny, rule.InDaysAt(0, 9, 0), time.Date(2026, 3, 9, 9, 0, 0, 0, ny), time.Date(2026, 3, 9, 9, 0, 0, 0, ny), false},
	}
	for _, c := range all {
		t.Run(c.name, func(t *testing.T) {
			h := calHarness(t, c.trigger.Add(-time.Hour), c.delay, connector.WithLocation(c.loc))
			h.AdvanceTo(c.trigger)
			h.TrackAt(c.trigger, opened("u"))
			h.Advance(10 * 24 * time.Hour)
			h.RequireSentAt("u", "f", c.want)
			h.RequireNoReason("u", "f", rule.Scheduled, rule.ReasonLate)
		})
	}
}

// The directory's zone wins over the engine's default location.
func TestTheDirectorysZoneWinsOverTheDefaultLocation(t *testing.T) {
	dir := newDirectory()
	dir.zones["tokyo"] = zone(t, "Asia/Tokyo")
	ny := zone(t, "America/New_York")
	h := connectortest.New(t, connector.WithDirectory(dir), connector.WithLocation(ny))
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.InDaysAt(1, 9, 0) })
	h.Advance(time.Hour)
	h.Track(opened("tokyo"), opened("dflt"))
	h.Advance(3 * 24 * time.Hour)
	h.RequireSentAt("tokyo", "f", time.Date(2026, 1, 6, 9, 0, 0, 0, dir.zones["tokyo"]))
	h.RequireSentAt("dflt", "f", time.Date(2026, 1, 5, 9, 0, 0, 0, ny))
}

// Deferring quiet hours end at a skipped wall time at the change (in
// Santiago, London, Lord Howe), across midnight, at To to the nanosecond,
// and in Santiago's repeated hour at the second pass of To.
func TestQuietHoursAtTheEdgesOfZones(t *testing.T) {
	scl := zone(t, "America/Santiago")
	lon := zone(t, "Europe/London")
	lh := zone(t, "Australia/Lord_Howe")
	type tc struct {
		name string
		loc  *time.Location
		q    connector.QuietHours
		due  time.Time // After(1h) triggered an hour before
		want time.Time
	}
	all := []tc{
		// Santiago skips 00:00–01:00 on 6 September 2026: quiet hours ending at 00:30 end at 01:00.
		{"santiago end skipped", scl, connector.QuietHours{From: rule.At(22, 0), To: rule.At(0, 30), Defer: true},
			time.Date(2026, 9, 5, 23, 0, 0, 0, scl), time.Date(2026, 9, 6, 4, 0, 0, 0, time.UTC)},
		// London skips 01:00–02:00 on 29 March 2026.
		{"london end skipped", lon, connector.QuietHours{From: rule.At(22, 0), To: rule.At(1, 30), Defer: true},
			time.Date(2026, 3, 29, 0, 30, 0, 0, lon), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{"london across midnight", lon, connector.QuietHours{From: rule.At(21, 0), To: rule.At(8, 0), Defer: true},
			time.Date(2026, 3, 28, 23, 59, 0, 0, lon), time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC)},
		{"london at To minus 1ns", lon, connector.QuietHours{From: rule.At(21, 0), To: rule.At(8, 0), Defer: true},
			time.Date(2026, 6, 1, 7, 59, 59, 999999999, lon), time.Date(2026, 6, 1, 8, 0, 0, 0, lon)},
		{"london at From", lon, connector.QuietHours{From: rule.At(21, 0), To: rule.At(8, 0), Defer: true},
			time.Date(2026, 6, 1, 21, 0, 0, 0, lon), time.Date(2026, 6, 2, 8, 0, 0, 0, lon)},
		{"london at To", lon, connector.QuietHours{From: rule.At(21, 0), To: rule.At(8, 0), Defer: true},
			time.Date(2026, 6, 1, 8, 0, 0, 0, lon), time.Date(2026, 6, 1, 8, 0, 0, 0, lon)},
		// Lord Howe skips 02:00–02:30 on 4 October 2026.
		{"lord howe end skipped", lh, connector.QuietHours{From: rule.At(1, 0), To: rule.At(2, 15), Defer: true},
			time.Date(2026, 10, 4, 1, 30, 0, 0, lh), time.Date(2026, 10, 3, 15, 30, 0, 0, time.UTC)},
		// Santiago repeats 23:00–00:00 on 4 April 2026: quiet 23:00–23:30, due at the first 23:40 ... held at second 23:10
		{"santiago repeated, second pass", scl, connector.QuietHours{From: rule.At(23, 0), To: rule.At(23, 30), Defer: true},
			time.Date(2026, 4, 5, 3, 10, 0, 0, time.UTC), time.Date(2026, 4, 5, 3, 30, 0, 0, time.UTC)},
	}
	for _, c := range all {
		t.Run(c.name, func(t *testing.T) {
			h := calHarness(t, c.due.Add(-2*time.Hour), rule.After(time.Hour), connector.WithLocation(c.loc), connector.WithQuietHours(c.q))
			h.AdvanceTo(c.due.Add(-time.Hour))
			h.TrackAt(c.due.Add(-time.Hour), opened("u"))
			h.Advance(3 * 24 * time.Hour)
			h.RequireSentAt("u", "f", c.want)
		})
	}
}

// An InDaysAt(0, …) trigger whose clock time has passed has no wait: an
// exception in its second, processed after it, cancels nothing, even
// while allowed lateness holds the delivery.
func TestACalendarTriggerDueAtOnceHasNoWait(t *testing.T) {
	h := connectortest.New(t, connector.WithAllowedLateness(time.Hour))
	h.Save(waitCampaign(func(c *rule.Campaign) { c.Delay = rule.InDaysAt(0, 8, 0) })...)
	h.Publish("f", "newsletter")
	h.AdvanceTo(connectortest.Start.Add(8*time.Hour + 30*time.Minute))
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Track(interaction("u", event.EmailOpened, "newsletter"))
	h.Advance(2 * time.Hour)
	h.RequireKinds("u", "f", "scheduled/late", "ignored/after_due", "delivered")
}

// Nor has one triggered exactly at its clock time: it is due then.
func TestACalendarTriggerAtItsClockTimeHasNoWait(t *testing.T) {
	h := connectortest.New(t)
	h.Save(waitCampaign(func(c *rule.Campaign) { c.Delay = rule.InDaysAt(0, 8, 0) })...)
	h.Publish("f", "newsletter")
	h.MoveTo(connectortest.Start.Add(8 * time.Hour))
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Track(interaction("u", event.EmailOpened, "newsletter"))
	h.Advance(2 * time.Hour)
	h.RequireKinds("u", "f", "scheduled", "ignored/after_due", "delivered")
}

// The longest InDaysAt, from now and from a stamp near the last time an
// event may have.
func TestTheLongestCalendarDelay(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.InDaysAt(3650, 23, 59) })
	h.Track(opened("u"))
	h.TrackAt(time.Date(8999, 12, 31, 23, 59, 59, 0, time.UTC), opened("far"))
	h.AdvanceTo(time.Date(2036, 1, 4, 0, 0, 0, 0, time.UTC))
	h.RequireSentAt("u", "f", time.Date(2036, 1, 3, 23, 59, 0, 0, time.UTC))
	h.RequireReason("far", "f", rule.Scheduled, "")
}
