package connectortest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/stretchr/testify/require"
)

// A move of the clock back in time fails naming where the harness clock
// is and what was asked, so that the test's author sees how far the
// steps before it took the clock.
func TestMovingBackNamesTheClock(t *testing.T) {
	at4 := func(h *connectortest.Harness) { h.Advance(4 * time.Hour) }
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		fn   func(h *connectortest.Harness)
		want string
	}{
		{"Advance", func(h *connectortest.Harness) { h.Advance(-time.Hour) },
			"connectortest: Advance(-1h0m0s): the clock only moves forward; it is at Mon 2026-01-05T04:00:00Z, " +
				"1h0m0s after the time asked (TrackAt tracks an event that happened earlier): " +
				"simulate: time cannot go back: Advance(-1h0m0s)"},
		{"AdvanceTo", func(h *connectortest.Harness) { h.AdvanceTo(connectortest.Start.Add(90 * time.Minute)) },
			"connectortest: AdvanceTo(2026-01-05T01:30:00Z): the clock only moves forward; it is at Mon 2026-01-05T04:00:00Z, " +
				"2h30m0s after the time asked (TrackAt tracks an event that happened earlier): " +
				"simulate: time cannot go back: AdvanceTo(2026-01-05T01:30:00Z) with the clock at 2026-01-05T04:00:00Z"},
		{"AdvanceTo in another zone", func(h *connectortest.Harness) {
			h.AdvanceTo(time.Date(2026, time.January, 5, 4, 59, 0, 0, paris))
		}, "connectortest: AdvanceTo(2026-01-05T04:59:00+01:00): the clock only moves forward; it is at Mon 2026-01-05T04:00:00Z, " +
			"1m0s after the time asked"},
		{"MoveTo", func(h *connectortest.Harness) { h.MoveTo(connectortest.Start.Add(4*time.Hour - time.Nanosecond)) },
			"connectortest: MoveTo(2026-01-05T03:59:59Z): the clock only moves forward; it is at Mon 2026-01-05T04:00:00Z, " +
				"1ns after the time asked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := outcome(t, at4, tc.fn)
			require.True(t, f.failed, "the move back passed")
			require.True(t, strings.HasPrefix(f.msg, tc.want), "want the message to start with\n%s\ngot\n%s", tc.want, f.msg)
		})
	}
}

// Any other failure of a move says nothing of going back.
func TestMoveOutOfRangeSaysNothingOfGoingBack(t *testing.T) {
	f := outcome(t, nil, func(h *connectortest.Harness) {
		h.AdvanceTo(time.Date(2300, time.January, 1, 0, 0, 0, 0, time.UTC))
	})
	require.True(t, f.failed)
	require.Contains(t, f.msg, "connectortest: AdvanceTo(2300-01-01T00:00:00Z): simulate: AdvanceTo(")
	require.NotContains(t, f.msg, "only moves forward")
}

// A zero time.Time asked, most often one left unset, is named as such,
// not as a time some 292 years (where a time.Duration ends) before the
// clock.
func TestMovingToTheZeroTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(h *connectortest.Harness)
		want string
	}{
		{"AdvanceTo", func(h *connectortest.Harness) { h.AdvanceTo(time.Time{}) },
			"connectortest: AdvanceTo(0001-01-01T00:00:00Z): the clock only moves forward; it is at Mon 2026-01-05T04:00:00Z, " +
				"and the time asked is the zero time.Time (one left unset?): simulate: time cannot go back: "},
		{"MoveTo", func(h *connectortest.Harness) { h.MoveTo(time.Time{}) },
			"connectortest: MoveTo(0001-01-01T00:00:00Z): the clock only moves forward; it is at Mon 2026-01-05T04:00:00Z, " +
				"and the time asked is the zero time.Time (one left unset?): simulate: time cannot go back: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := outcome(t, func(h *connectortest.Harness) { h.Advance(4 * time.Hour) }, tc.fn)
			require.True(t, f.failed, "the move back passed")
			require.True(t, strings.HasPrefix(f.msg, tc.want), "want the message to start with\n%s\ngot\n%s", tc.want, f.msg)
		})
	}
}
