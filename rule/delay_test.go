package rule_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"
	_ "time/tzdata" // zones must not depend on the machine's tz database

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func TestDelaysCountFromTheTriggerTime(t *testing.T) {
	utc := time.UTC
	// Wednesday 4 March 2026, 15:30 UTC.
	trigger := time.Date(2026, 3, 4, 15, 30, 0, 0, utc)
	cases := []struct {
		name  string
		delay rule.Delay
		want  time.Time
	}{
		{"immediately is the trigger time", rule.Immediately(), trigger},
		{"zero value is immediate", rule.Delay{}, trigger},
		{"after a duration is exact elapsed time", rule.After(90 * time.Minute), trigger.Add(90 * time.Minute)},
		{"after weeks", rule.After(2 * 7 * 24 * time.Hour), trigger.Add(14 * 24 * time.Hour)},
		{"next weekday later this week", rule.NextWeekdayAt(time.Friday, 9, 0), time.Date(2026, 3, 6, 9, 0, 0, 0, utc)},
		{"next weekday on the same weekday goes to the following week", rule.NextWeekdayAt(time.Wednesday, 18, 0), time.Date(2026, 3, 11, 18, 0, 0, 0, utc)},
		{"next weekday earlier in the week", rule.NextWeekdayAt(time.Monday, 8, 15), time.Date(2026, 3, 9, 8, 15, 0, 0, utc)},
		{"in N days at a clock time", rule.InDaysAt(2, 9, 0), time.Date(2026, 3, 6, 9, 0, 0, 0, utc)},
		{"in 0 days later today", rule.InDaysAt(0, 20, 0), time.Date(2026, 3, 4, 20, 0, 0, 0, utc)},
		{"in 0 days earlier today is already past", rule.InDaysAt(0, 8, 0), time.Date(2026, 3, 4, 8, 0, 0, 0, utc)},
		{"in days across a month end", rule.InDaysAt(30, 0, 0), time.Date(2026, 4, 3, 0, 0, 0, 0, utc)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.delay.Validate())
			require.Equal(t, tc.want, tc.delay.DueAt(trigger, utc))
		})
	}
}

func TestCalendarDelaysUseTheLocation(t *testing.T) {
	paris := mustLoad(t, "Europe/Paris")
	// 23:30 UTC on Wednesday is already Thursday 00:30 in Paris.
	trigger := time.Date(2026, 3, 4, 23, 30, 0, 0, time.UTC)
	got := rule.InDaysAt(1, 9, 0).DueAt(trigger, paris)
	require.Equal(t, time.Date(2026, 3, 6, 9, 0, 0, 0, paris), got)
	got = rule.NextWeekdayAt(time.Thursday, 9, 0).DueAt(trigger, paris)
	require.Equal(t, time.Date(2026, 3, 12, 9, 0, 0, 0, paris), got, "Thursday in Paris: next Thursday")
	// nil location is UTC.
	require.Equal(t, time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC), rule.InDaysAt(1, 9, 0).DueAt(trigger, nil))
	// After is elapsed time, whatever the zone.
	require.True(t, trigger.Add(24*time.Hour).Equal(rule.After(24*time.Hour).DueAt(trigger.In(paris), paris)))
}

func TestCalendarDelaysAcrossDaylightSaving(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	paris := mustLoad(t, "Europe/Paris")
	lordHowe := mustLoad(t, "Australia/Lord_Howe")
	cases := []struct {
		name string
		loc  *time.Location
		// wall clock asked for
		y    int
		m    time.Month
		d    int
		h, n int
		want time.Time // in UTC
	}{
		// New York springs forward on 8 March 2026 at 02:00 EST → 03:00 EDT (07:00 UTC).
		{"New York/skipped 02:30 moves to the change instant", ny, 2026, 3, 8, 2, 30, time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		{"New York/01:59 before the gap is EST", ny, 2026, 3, 8, 1, 59, time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC)},
		{"New York/03:00 after the gap is EDT", ny, 2026, 3, 8, 3, 0, time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		// New York falls back on 1 November 2026: 01:00–02:00 happens twice.
		{"New York/repeated 01:30 takes the first (EDT)", ny, 2026, 11, 1, 1, 30, time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)},
		{"New York/02:00 after the repeat is EST", ny, 2026, 11, 1, 2, 0, time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC)},
		// Paris springs forward on 29 March 2026 at 02:00 CET → 03:00 CEST (01:00 UTC).
		{"Paris/skipped 02:15 moves to the change instant", paris, 2026, 3, 29, 2, 15, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		// Paris falls back on 25 October 2026: 02:00–03:00 happens twice.
		{"Paris/repeated 02:30 takes the first (CEST)", paris, 2026, 10, 25, 2, 30, time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)},
		// Lord Howe moves by 30 minutes: forward on 4 October 2026 at 02:00 (+10:30 → +11),
		// back on 5 April 2026 at 02:00 (+11 → +10:30).
		{"Lord Howe/skipped 02:10 moves to the change instant", lordHowe, 2026, 10, 4, 2, 10, time.Date(2026, 10, 3, 15, 30, 0, 0, time.UTC)},
		{"Lord Howe/02:30 after the gap", lordHowe, 2026, 10, 4, 2, 30, time.Date(2026, 10, 3, 15, 30, 0, 0, time.UTC)},
		{"Lord Howe/repeated 01:45 takes the first (+11)", lordHowe, 2026, 4, 5, 1, 45, time.Date(2026, 4, 4, 14, 45, 0, 0, time.UTC)},
		{"Lord Howe/01:29 before the repeat", lordHowe, 2026, 4, 5, 1, 29, time.Date(2026, 4, 4, 14, 29, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rule.WallTime(tc.y, tc.m, tc.d, tc.h, tc.n, tc.loc)
			require.Equal(t, tc.want, got.UTC(), "got %s", got)
		})
	}
	// Through a delay: a trigger on Saturday 7 March in New York, in 1 day at 02:30.
	trigger := time.Date(2026, 3, 7, 12, 0, 0, 0, ny)
	require.Equal(t, time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), rule.InDaysAt(1, 2, 30).DueAt(trigger, ny).UTC())
	// Next Sunday at 01:30 in New York on the fall-back day: first occurrence.
	trigger = time.Date(2026, 10, 28, 12, 0, 0, 0, ny)
	require.Equal(t, time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), rule.NextWeekdayAt(time.Sunday, 1, 30).DueAt(trigger, ny).UTC())
}

func TestDelayValidate(t *testing.T) {
	bad := []rule.Delay{
		rule.After(-time.Second),
		rule.After(11 * 365 * 24 * time.Hour),
		rule.NextWeekdayAt(7, 9, 0),
		rule.NextWeekdayAt(time.Monday, 24, 0),
		rule.InDaysAt(-1, 9, 0),
		rule.InDaysAt(1, 9, 60),
		rule.InDaysAt(4000, 9, 0),
	}
	for _, d := range bad {
		require.ErrorIs(t, d.Validate(), rule.ErrInvalidDelay, "%s", d)
	}
}

func TestDelayJSON(t *testing.T) {
	cases := []struct {
		d    rule.Delay
		json string
		str  string
	}{
		{rule.Immediately(), `null`, "immediately"},
		{rule.After(7 * 24 * time.Hour), `{"after":"168h0m0s"}`, "after 168h0m0s"},
		{rule.NextWeekdayAt(time.Monday, 9, 5), `{"weekday":"monday","at":"09:05"}`, "next monday at 09:05"},
		{rule.InDaysAt(2, 18, 0), `{"days":2,"at":"18:00"}`, "in 2 days at 18:00"},
		{rule.InDaysAt(0, 18, 0), `{"days":0,"at":"18:00"}`, "in 0 days at 18:00"},
	}
	for _, tc := range cases {
		b, err := json.Marshal(tc.d)
		require.NoError(t, err)
		require.JSONEq(t, tc.json, string(b))
		var back rule.Delay
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, tc.d, back)
		require.Equal(t, tc.str, tc.d.String())
	}
	var d rule.Delay
	require.NoError(t, json.Unmarshal([]byte(`{"after":"90m"}`), &d))
	require.Equal(t, rule.After(90*time.Minute), d)
	require.NoError(t, json.Unmarshal([]byte(`{"weekday":"Fri","at":"07:00"}`), &d))
	require.Equal(t, rule.NextWeekdayAt(time.Friday, 7, 0), d)
	for _, bad := range []string{
		`{"after":"a week"}`, `{"weekday":"someday","at":"09:00"}`, `{"days":1}`, `{"days":1,"at":"9:00"}`,
		`{"days":1,"at":"25:00"}`, `{"after":"1h","days":1,"at":"09:00"}`, `{"at":"09:00"}`, `{"in":"1h"}`, `[]`,
	} {
		require.Error(t, json.Unmarshal([]byte(bad), &d), bad)
	}
}

func TestReeligibilityWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	once := rule.OnceOnly()
	require.True(t, once.IsZero())
	require.False(t, once.Allows(t0, t0.Add(1000*time.Hour)))
	w := rule.ReeligibleAfter(time.Hour)
	require.False(t, w.Allows(t0, t0.Add(time.Hour-time.Nanosecond)))
	require.True(t, w.Allows(t0, t0.Add(time.Hour)), "the window's end is inclusive")
	require.False(t, w.Allows(t0, t0.Add(-time.Minute)), "a trigger before the receipt")
	zero := rule.ReeligibleAfter(0)
	require.True(t, zero.Allows(t0, t0))
	require.Error(t, rule.ReeligibleAfter(-time.Second).Validate())

	for _, r := range []rule.Reeligibility{once, w, zero} {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		var back rule.Reeligibility
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, r, back, string(b))
	}
	require.Equal(t, "re-eligible after 1h0m0s", w.String())
	require.Equal(t, "once only", once.String())
}

func TestLifecycle(t *testing.T) {
	allowed := map[[2]rule.State]bool{
		{rule.Draft, rule.Active}: true, {rule.Stopped, rule.Active}: true,
		{rule.Active, rule.Stopped}: true,
		{rule.Draft, rule.Archived}: true, {rule.Active, rule.Archived}: true, {rule.Stopped, rule.Archived}: true,
	}
	states := []rule.State{rule.Draft, rule.Active, rule.Stopped, rule.Archived}
	for _, from := range states {
		require.True(t, from.Valid())
		for _, to := range states {
			err := from.Transition(to)
			if allowed[[2]rule.State{from, to}] {
				require.NoError(t, err, "%s → %s", from, to)
			} else {
				require.ErrorIs(t, err, rule.ErrInvalidTransition, "%s → %s", from, to)
			}
		}
	}
	require.False(t, rule.State("paused").Valid())
}

// A weekday is its English name in full or its first three letters, in
// any case, as the documentation says; any other form is refused, in a
// delay and in a send window's days alike.
func TestWeekdayNamesAccepted(t *testing.T) {
	accepted := map[string]time.Weekday{
		"monday": time.Monday, "Monday": time.Monday, "MONDAY": time.Monday, "mOnDaY": time.Monday,
		"mon": time.Monday, "Mon": time.Monday, "MON": time.Monday,
		"sunday": time.Sunday, "sun": time.Sunday, "tue": time.Tuesday, "wed": time.Wednesday,
		"thu": time.Thursday, "Thursday": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
		"FRİDAY": time.Friday, // İ lowers to i, as strings.ToLower folds it
	}
	for s, want := range accepted {
		got, err := rule.ParseWeekday(s)
		require.NoError(t, err, s)
		require.Equal(t, want, got, s)
		var d rule.Delay
		require.NoError(t, json.Unmarshal([]byte(`{"weekday":"`+s+`","at":"09:00"}`), &d), s)
		require.Equal(t, rule.NextWeekdayAt(want, 9, 0), d, s)
		var w rule.SendWindow
		require.NoError(t, json.Unmarshal([]byte(`{"from":"09:00","to":"17:00","days":["`+s+`"]}`), &w), s)
		require.Equal(t, []time.Weekday{want}, w.Days, s)
	}
	for _, s := range []string{"", "m", "mo", "mond", "monda", "mondays", "tues", "thur", "thurs", "weds",
		" monday", "monday ", "mon.", "lundi", "1", "ſun"} {
		_, err := rule.ParseWeekday(s)
		require.EqualError(t, err, strconv.Quote(s)+" is not a weekday", s)
		var d rule.Delay
		require.ErrorIs(t, json.Unmarshal([]byte(`{"weekday":`+strconv.Quote(s)+`,"at":"09:00"}`), &d), rule.ErrInvalidDelay, s)
		var w rule.SendWindow
		require.ErrorContains(t, json.Unmarshal([]byte(`{"from":"09:00","to":"17:00","days":[`+strconv.Quote(s)+`]}`), &w),
			`rule: send_window: days[0]: `+strconv.Quote(s)+` is not a weekday`, s)
	}
}
