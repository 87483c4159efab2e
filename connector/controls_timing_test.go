package connector_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

func TestUserTimeZones(t *testing.T) {
	dir := newDirectory()
	ny, paris, lordHowe := zone(t, "America/New_York"), zone(t, "Europe/Paris"), zone(t, "Australia/Lord_Howe")
	dir.zones["nyc"], dir.zones["par"], dir.zones["lhi"] = ny, paris, lordHowe
	h := connectortest.New(t, connector.WithDirectory(dir), connector.WithLocation(paris))
	followUp(h, func(c *rule.Campaign) { c.Delay = rule.InDaysAt(1, 9, 0); c.Reeligibility = rule.ReeligibleAfter(0) })

	h.Track(opened("nyc"), opened("par"), opened("lhi"), opened("nozone"))
	h.Advance(3 * 24 * time.Hour)
	// connectortest.Start is Monday 5 January 2026 00:00 UTC: Sunday evening in New York.
	h.RequireSentAt("nyc", "f", time.Date(2026, 1, 5, 9, 0, 0, 0, ny))
	h.RequireSentAt("par", "f", time.Date(2026, 1, 6, 9, 0, 0, 0, paris))
	h.RequireSentAt("lhi", "f", time.Date(2026, 1, 6, 9, 0, 0, 0, lordHowe))
	h.RequireSentAt("nozone", "f", time.Date(2026, 1, 6, 9, 0, 0, 0, paris)) // no zone: the engine default

	t.Run("DST days in each zone", func(t *testing.T) {
		cases := []struct {
			user    string
			trigger time.Time
			at      [2]int // wall clock asked for the next day
			want    time.Time
		}{
			// New York springs forward on 8 March 2026: 02:30 does not exist.
			{"nyc", time.Date(2026, 3, 7, 12, 0, 0, 0, ny), [2]int{2, 30}, time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
			// Paris falls back on 25 October 2026: 02:30 happens twice, the first counts.
			{"par", time.Date(2026, 10, 24, 12, 0, 0, 0, paris), [2]int{2, 30}, time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)},
			// Lord Howe springs forward by 30 minutes on 4 October 2026: 02:10 does not exist.
			{"lhi", time.Date(2026, 10, 3, 12, 0, 0, 0, lordHowe), [2]int{2, 10}, time.Date(2026, 10, 3, 15, 30, 0, 0, time.UTC)},
		}
		for _, tc := range cases {
			h := connectortest.New(t, connector.WithDirectory(dir))
			followUp(h, func(c *rule.Campaign) { c.Delay = rule.InDaysAt(1, tc.at[0], tc.at[1]) })
			h.AdvanceTo(tc.trigger)
			h.Track(opened(tc.user))
			h.Advance(2 * 24 * time.Hour)
			h.RequireSentAt(tc.user, "f", tc.want)
		}
	})

	t.Run("a directory error fails Track and changes nothing", func(t *testing.T) {
		dir := newDirectory()
		h := connectortest.New(t, connector.WithDirectory(dir))
		followUp(h, func(c *rule.Campaign) { c.Delay = rule.InDaysAt(1, 9, 0) })
		boom := errors.New("directory down")
		dir.failWith(boom)
		err := h.Engine.Track(context.Background(), event.Event{ID: "e1", UserID: "u", Kind: event.EmailOpened, CampaignID: "o"})
		require.ErrorIs(t, err, boom)
		_, err = h.Store.User(context.Background(), "", "u")
		require.ErrorIs(t, err, store.ErrNotFound)
		dir.failWith(nil)
		h.Track(event.Event{ID: "e1", UserID: "u", Kind: event.EmailOpened, CampaignID: "o"}) // the retry is not a duplicate
		h.RequireReason("u", "f", rule.Scheduled, "")
	})
}

func TestSendWindow(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	dir := newDirectory()
	day := time.Date(2026, 1, 6, 0, 0, 0, 0, paris) // a Tuesday, midnight in Paris
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	newH := func(t *testing.T, w rule.SendWindow, mod func(*rule.Campaign)) *connectortest.Harness {
		h := connectortest.New(t, connector.WithDirectory(dir), connector.WithLocation(paris))
		followUp(h, func(c *rule.Campaign) {
			c.SendWindow = &w
			c.Reeligibility = rule.ReeligibleAfter(0)
			if mod != nil {
				mod(c)
			}
		})
		return h
	}
	nineToFive := rule.SendWindow{From: rule.At(9, 0), To: rule.At(17, 0)}

	t.Run("edges: from is inside, to is outside", func(t *testing.T) {
		h := newH(t, nineToFive, nil)
		for _, tc := range []struct {
			user string
			at   time.Time
		}{{"before", at(8, 59)}, {"from", at(9, 0)}, {"last", at(16, 59)}, {"to", at(17, 0)}} {
			h.AdvanceTo(tc.at)
			h.Track(opened(tc.user))
		}
		h.Advance(time.Hour)
		h.RequireReason("before", "f", rule.Suppressed, rule.ReasonOutsideSendWindow)
		h.RequireSentAt("from", "f", at(9, 0))
		h.RequireSentAt("last", "f", at(16, 59))
		h.RequireReason("to", "f", rule.Suppressed, rule.ReasonOutsideSendWindow)
	})

	t.Run("next available moves the due time to the next opening", func(t *testing.T) {
		w := nineToFive
		w.NextAvailable = true
		h := newH(t, w, nil)
		h.AdvanceTo(at(18, 0))
		h.Track(opened("late"))
		h.Advance(24 * time.Hour)
		h.RequireSentAt("late", "f", at(24+9, 0))
	})

	t.Run("weekdays and overnight windows", func(t *testing.T) {
		w := rule.SendWindow{From: rule.At(22, 0), To: rule.At(2, 0), Days: []time.Weekday{time.Friday}, NextAvailable: true}
		h := newH(t, w, nil)
		h.AdvanceTo(at(12, 0)) // Tuesday noon
		h.Track(opened("u"))
		h.Advance(7 * 24 * time.Hour)
		h.RequireSentAt("u", "f", at(3*24+22, 0)) // Friday 22:00
		h.Track(opened("u"))                      // next Tuesday: the window of Friday night again
		require.True(t, w.Contains(at(4*24+1, 59), paris), "Saturday 01:59 belongs to Friday's window")
		require.False(t, w.Contains(at(4*24+2, 0), paris))
		require.False(t, w.Contains(at(22, 0), paris), "Tuesday night is not a Friday")
	})

	t.Run("a retry pushed out of the window is dropped and not received", func(t *testing.T) {
		h := newH(t, nineToFive, func(c *rule.Campaign) { c.Reeligibility = rule.OnceOnly() })
		h.Sender.Fail = func(connector.Delivery) error { return errors.New("busy") }
		h.AdvanceTo(at(16, 59))
		h.Track(opened("u"))
		h.Advance(time.Minute) // first attempt at 16:59 fails, the retry at 17:00 is outside
		h.RequireKinds("u", "f", "scheduled", "retried/send_error", "suppressed/outside_send_window")
		h.Sender.Fail = nil
		h.AdvanceTo(at(24+10, 0))
		h.Track(opened("u")) // missing the window never counts as a receipt
		h.Tick()
		h.RequireSent("u", "f")
	})

	t.Run("a retry pushed out of the window waits with next available", func(t *testing.T) {
		w := nineToFive
		w.NextAvailable = true
		h := newH(t, w, nil)
		h.Sender.Fail = func(d connector.Delivery) error {
			if d.Attempt == 1 {
				return errors.New("busy")
			}
			return nil
		}
		h.AdvanceTo(at(16, 59))
		h.Track(opened("u"))
		h.Advance(24 * time.Hour)
		h.RequireSentAt("u", "f", at(24+9, 0))
		h.RequireKinds("u", "f", "scheduled", "retried/send_error", "deferred/outside_send_window", "delivered")
	})
}

func TestQuietHours(t *testing.T) {
	ny := zone(t, "America/New_York")
	dir := newDirectory()
	dir.zones["u"], dir.zones["v"], dir.zones["w"] = ny, ny, ny
	day := time.Date(2026, 1, 6, 0, 0, 0, 0, ny)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	for _, deferIt := range []bool{false, true} {
		t.Run(fmt.Sprintf("defer=%v", deferIt), func(t *testing.T) {
			h := connectortest.New(t, connector.WithDirectory(dir),
				connector.WithQuietHours(connector.QuietHours{From: rule.At(22, 0), To: rule.At(7, 0), Defer: deferIt}))
			followUp(h, nil)
			h.AdvanceTo(at(21, 59))
			h.Track(opened("u")) // before quiet hours: sent
			h.Tick()
			h.AdvanceTo(at(22, 0))
			h.Track(opened("v")) // the first quiet minute
			h.Tick()
			h.AdvanceTo(at(24+6, 59))
			h.Track(opened("w")) // the last quiet minute
			h.Advance(2 * time.Hour)
			h.RequireSentAt("u", "f", at(21, 59))
			if deferIt {
				h.RequireSentAt("v", "f", at(24+7, 0))
				h.RequireSentAt("w", "f", at(24+7, 0))
				h.RequireKinds("v", "f", "scheduled", "deferred/quiet_hours", "delivered")
			} else {
				h.RequireNotSent("v", "f")
				h.RequireNotSent("w", "f")
				h.RequireKinds("v", "f", "scheduled", "suppressed/quiet_hours")
			}
		})
	}
	require.Error(t, connector.WithQuietHours(connector.QuietHours{From: rule.At(7, 0), To: rule.At(7, 0)})(nil) /* validated before use */)
}

// On the night New York's clocks go back (1 November 2026, 01:00–02:00
// twice), quiet hours ending at 01:30 end twice: a delivery due at 01:15
// of the second pass (06:15 UTC) waits until 01:30 of that pass (06:30
// UTC), not until the next night; one due at 01:15 of the first pass
// (05:15 UTC) until 01:30 of the first (05:30 UTC).
func TestQuietHoursEndInTheRepeatedHour(t *testing.T) {
	ny := zone(t, "America/New_York")
	dir := newDirectory()
	dir.zones["first"], dir.zones["second"] = ny, ny
	h := connectortest.New(t, connector.WithDirectory(dir),
		connector.WithQuietHours(connector.QuietHours{From: rule.At(22, 0), To: rule.At(1, 30), Defer: true}))
	followUp(h, nil)
	h.AdvanceTo(time.Date(2026, 11, 1, 5, 15, 0, 0, time.UTC))
	h.Track(opened("first"))
	h.AdvanceTo(time.Date(2026, 11, 1, 6, 15, 0, 0, time.UTC))
	h.Track(opened("second"))
	h.Advance(2 * time.Hour)
	h.RequireSentAt("first", "f", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC))
	h.RequireSentAt("second", "f", time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC))
}

// When Santiago's clocks go back (5 April 2026 at 03:00 UTC, midnight
// -03 → 23:00 -04), quiet hours from 23:30 end at the change: the wall
// clock reads 23:00 again. A delivery held at 23:45 -03 goes then, not at
// 07:00.
func TestQuietHoursEndWhenTheClocksGoBackOutOfThem(t *testing.T) {
	santiago := zone(t, "America/Santiago")
	dir := newDirectory()
	dir.zones["u"] = santiago
	h := connectortest.New(t, connector.WithDirectory(dir),
		connector.WithQuietHours(connector.QuietHours{From: rule.At(23, 30), To: rule.At(7, 0), Defer: true}))
	followUp(h, nil)
	h.AdvanceTo(time.Date(2026, 4, 5, 2, 45, 0, 0, time.UTC)) // 23:45 -03
	h.Track(opened("u"))
	h.Advance(time.Hour)
	h.RequireSentAt("u", "f", time.Date(2026, 4, 5, 3, 0, 0, 0, time.UTC))
}
