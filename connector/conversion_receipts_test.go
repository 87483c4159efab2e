package connector_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// windowsCase is a harness with campaign "nl", whose conversion "bought"
// (any purchase) has the given deadline, and helpers to read its windows.
type windowsCase struct{ *connectortest.Harness }

func newWindowsCase(t *testing.T, deadline time.Duration) windowsCase {
	h := connectortest.New(t)
	h.Apply(rule.Campaign{ID: "nl", Conversions: []rule.Conversion{{ID: "bought", Kind: event.Purchase, Deadline: deadline}}})
	return windowsCase{h}
}

// at returns connectortest.Start + d.
func at(d time.Duration) time.Time { return connectortest.Start.Add(d) }

func (c windowsCase) received(when time.Time) {
	c.TrackAt(when, event.Event{UserID: "u", Kind: event.EmailReceived, CampaignID: "nl"})
}

func (c windowsCase) bought(when time.Time) {
	c.TrackAt(when, event.Event{UserID: "u", Kind: event.Purchase, Name: "sku"})
}

// converted counts the user's conversions.
func (c windowsCase) converted() int {
	n := 0
	for _, d := range c.DecisionsFor("u", "nl") {
		if d.Kind == rule.Converted {
			n++
		}
	}
	return n
}

// windows lists the user's windows as [opened, deadline) after Start.
func (c windowsCase) windows() string {
	u, err := c.Store.User(context.Background(), "", "u")
	require.NoError(c.T, err)
	out := ""
	for _, w := range u.Conversions {
		out += fmt.Sprintf("%s/%s[%v,%v) ", w.CampaignID, w.ConversionID, w.Opened.Sub(connectortest.Start), w.Deadline.Sub(connectortest.Start))
	}
	return out
}

// TestConversionWindowsFollowReceiptTimes: the first receipt by time
// counts, whatever the order receipts are reported in, with at most two
// windows per conversion, the one open now kept.
func TestConversionWindowsFollowReceiptTimes(t *testing.T) {
	const hour = time.Hour
	t.Run("a receipt reported late moves the window back, and the deadline with it", func(t *testing.T) {
		// A purchase at 72 h is in [1h, 73h); one at 73 h only in the
		// later receipt's window.
		for bought, want := range map[time.Duration]int{72 * hour: 1, 73 * hour: 0} {
			c := newWindowsCase(t, 72*hour)
			c.AdvanceTo(at(80 * hour))
			c.received(at(10 * hour))
			c.received(at(hour)) // [1h, 73h): r2 came inside it
			c.bought(at(bought))
			require.Equal(t, want, c.converted(), "bought at %v: %s", bought, c.windows())
		}
	})
	t.Run("one ending before gets a window of its own", func(t *testing.T) {
		c := newWindowsCase(t, 72*hour)
		c.AdvanceTo(at(80 * hour))
		c.received(at(76 * hour))
		c.received(at(hour))
		c.bought(at(2 * hour))
		c.bought(at(79 * hour))
		require.Equal(t, 2, c.converted(), "one conversion per window: "+c.windows())
	})
	t.Run("exactly a window before an opening leaves it alone", func(t *testing.T) {
		c := newWindowsCase(t, hour)
		c.AdvanceTo(at(2*hour + 40*time.Minute))
		c.received(at(2 * hour))
		c.received(at(hour)) // [1h, 2h) ends where [2h, 3h) opens
		c.bought(at(2*hour + 15*time.Minute))
		c.bought(at(hour + 30*time.Minute))
		require.Equal(t, 2, c.converted(), c.windows())
	})
	t.Run("a converted window is forgotten: a receipt it held, reported after, opens one", func(t *testing.T) {
		c := newWindowsCase(t, 72*hour)
		c.AdvanceTo(at(3 * hour))
		c.received(at(0))
		c.bought(at(hour)) // converts [0, 72h), which closes
		c.received(at(30 * time.Minute))
		require.Equal(t, "nl/bought[30m0s,72h30m0s) ", c.windows())
		c.bought(at(2 * hour))
		require.Equal(t, 2, c.converted(), c.windows())
	})
	t.Run("a receipt at a deadline opens a window", func(t *testing.T) {
		c := newWindowsCase(t, hour)
		c.received(at(0))
		c.received(at(hour)) // dated ahead, so nothing is pruned
		c.bought(at(61 * time.Minute))
		require.Equal(t, 1, c.converted(), c.windows())
	})
	t.Run("a receipt a window holds changes nothing", func(t *testing.T) {
		c := newWindowsCase(t, hour)
		c.AdvanceTo(at(96 * time.Minute))
		c.received(at(90 * time.Minute)) // open now
		c.received(at(0))
		c.received(at(48 * time.Minute)) // held by [0, 1h)
		require.Equal(t, "nl/bought[1h30m0s,2h30m0s) nl/bought[0s,1h0m0s) ", c.windows())
		c.bought(at(54 * time.Minute))
		c.bought(at(57 * time.Minute))
		c.AdvanceTo(at(2 * hour))
		c.bought(c.Now())
		require.Equal(t, 2, c.converted(), "one per window: "+c.windows())
	})
	t.Run("late receipts leave the window open now", func(t *testing.T) {
		c := newWindowsCase(t, 72*hour)
		c.AdvanceTo(at(240 * hour))
		c.received(c.Now())        // [10d, 13d)
		c.received(at(144 * hour)) // [6d, 9d)
		c.received(at(192 * hour)) // held by [6d, 9d): changes nothing
		c.bought(at(288 * hour))
		require.Equal(t, 1, c.converted(), c.windows())
	})
	t.Run("past two, the window farthest from now goes", func(t *testing.T) {
		c := newWindowsCase(t, 72*hour)
		c.AdvanceTo(at(240 * hour))
		c.received(c.Now())        // [10d, 13d)
		c.received(at(480 * hour)) // [20d, 23d)
		c.received(at(336 * hour)) // [14d, 17d): nearer, takes [20d, 23d)'s place
		c.bought(at(360 * hour))
		require.Equal(t, 1, c.converted(), c.windows())
		c.bought(at(490 * hour))
		require.Equal(t, 1, c.converted(), c.windows())
	})
	t.Run("a new window farther than the others opens nothing", func(t *testing.T) {
		c := newWindowsCase(t, 72*hour)
		c.AdvanceTo(at(240 * hour))
		c.received(c.Now())                                     // [10d, 13d)
		c.received(at(360 * hour))                              // [15d, 18d): 5 days ahead
		c.received(at(48 * hour))                               // [2d, 5d): 5 days and a nanosecond behind
		c.received(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)) // centuries behind
		c.received(at(7200 * hour))                             // months ahead
		c.bought(at(384 * hour))
		require.Equal(t, 1, c.converted(), c.windows())
	})
	t.Run("a window ended by now gives its place first", func(t *testing.T) {
		c := newWindowsCase(t, hour)
		c.AdvanceTo(at(10 * hour))
		c.received(at(8 * hour))  // [8h, 9h): ended
		c.received(at(40 * hour)) // [40h, 41h): ahead
		c.received(at(20 * hour)) // takes [8h, 9h)'s place
		c.bought(at(40*hour + time.Minute))
		require.Equal(t, 1, c.converted(), c.windows())
	})
	t.Run("a receipt dated a year ahead leaves today's window", func(t *testing.T) {
		c := newWindowsCase(t, 72*hour)
		c.AdvanceTo(at(240 * hour))
		c.received(c.Now())
		c.received(c.Now().Add(365 * 24 * hour))
		c.bought(c.Now().Add(hour))
		require.Equal(t, 1, c.converted(), c.windows())
	})
	t.Run("receipts dated apart keep two windows", func(t *testing.T) {
		c := newWindowsCase(t, 72*hour)
		for i := 50; i > 0; i-- { // latest first, each before every window
			c.received(at(time.Duration(i) * 96 * hour))
		}
		require.ElementsMatch(t, []string{"nl/bought[96h0m0s,168h0m0s)", "nl/bought[192h0m0s,264h0m0s)"},
			strings.Fields(c.windows()), "the two nearest now")
	})
	t.Run("a lengthened deadline: one receipt before both windows leaves one", func(t *testing.T) {
		c := newWindowsCase(t, 72*hour)
		c.AdvanceTo(at(240 * hour))
		c.received(c.Now())        // [10d, 13d)
		c.received(at(120 * hour)) // [5d, 8d)
		c.Save(rule.Campaign{ID: "nl", Conversions: []rule.Conversion{{ID: "bought", Kind: event.Purchase, Deadline: 240 * hour}}})
		c.received(at(24 * hour)) // [1d, 11d) reaches both
		require.Equal(t, "nl/bought[24h0m0s,264h0m0s) ", c.windows())
		c.bought(c.Now().Add(hour))
		c.bought(c.Now().Add(2 * hour))
		require.Equal(t, 1, c.converted(), c.windows())
	})
	t.Run("other campaigns' windows keep their place", func(t *testing.T) {
		h := connectortest.New(t)
		mk := func(id string, d time.Duration) rule.Campaign {
			return rule.Campaign{ID: id, Conversions: []rule.Conversion{
				{ID: "bought", Kind: event.Purchase, Deadline: d},
				{ID: "signed", Kind: event.CustomEvent, Name: "sign_up", Deadline: d}}}
		}
		h.Apply(mk("A", hour), mk("B", hour))
		r := func(campaign string, d time.Duration) {
			h.TrackAt(at(d), event.Event{UserID: "u", Kind: event.EmailReceived, CampaignID: campaign})
		}
		r("A", 5*hour)
		r("B", 5*hour)
		r("A", 8*hour)
		r("B", 8*hour)
		h.Save(mk("A", 10*hour))
		r("A", hour)
		c := windowsCase{h}
		require.Equal(t, "A/bought[1h0m0s,11h0m0s) A/signed[1h0m0s,11h0m0s) B/bought[5h0m0s,6h0m0s) B/signed[5h0m0s,6h0m0s) B/bought[8h0m0s,9h0m0s) B/signed[8h0m0s,9h0m0s) ", c.windows())
	})
}
