package connectortest_test

import (
	"context"
	"testing"
	"time"
	_ "time/tzdata" // zones must not depend on the machine's tz database

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// nextMorningInNewYork opens "welcome" for ann, a New York user, on the
// evening before the United States move their clocks forward (Sunday 8
// March 2026, 02:00): "tips" goes the next day at 09:00 her time, 11
// hours later.
func nextMorningInNewYork(t *testing.T) (*time.Location, func(h *connectortest.Harness)) {
	newYork, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	return newYork, func(h *connectortest.Harness) {
		h.AdvanceTo(time.Date(2026, time.March, 7, 21, 0, 0, 0, newYork))
		h.Apply(rule.Campaign{ID: "welcome"}, rule.Campaign{
			ID:       "tips",
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "welcome"}},
			Delay:    rule.InDaysAt(1, 9, 0),
		})
		h.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "welcome"})
	}
}

// withZone gives every user the location loc, as a host's directory does.
func withZone(loc *time.Location) connector.Option {
	return connector.WithDirectory(connector.LocationFunc(func(context.Context, string) (*time.Location, error) {
		return loc, nil
	}))
}

// A wrong time in RequireSentAt, written in the user's zone, fails with
// both times in that zone: the hour the change of time took is plain.
func TestRequireSentAtSaysTimesInTheWantedZone(t *testing.T) {
	newYork, setup := nextMorningInNewYork(t)
	f := outcome(t, setup, func(h *connectortest.Harness) {
		h.Advance(48 * time.Hour)
		h.RequireSentAt("ann", "tips", time.Date(2026, time.March, 7, 21, 0, 0, 0, newYork).Add(12*time.Hour)) // 11 hours in fact
	}, withZone(newYork))
	require.True(t, f.failed)
	require.Contains(t, f.msg, `want "tips" delivered to "ann" at 2026-03-08T10:00:00-04:00 EDT = 2026-03-08T14:00:00Z, `+
		`got 2026-03-08T09:00:00-04:00 EDT = 2026-03-08T13:00:00Z (1h0m0s early)`)
}

func TestRequirePendingAt(t *testing.T) {
	newYork, setup := nextMorningInNewYork(t)
	nine := time.Date(2026, time.March, 8, 9, 0, 0, 0, newYork)
	for _, tc := range []struct {
		name string
		fn   func(h *connectortest.Harness)
		want string // "": passes
	}{
		{"due at the time wanted", func(h *connectortest.Harness) {
			p := h.RequirePendingAt("ann", "tips", nine)
			require.Equal(t, "ann", p.Trigger.UserID)
		}, ""},
		{"due at another time", func(h *connectortest.Harness) { h.RequirePendingAt("ann", "tips", nine.Add(time.Hour)) },
			`want a delivery of "tips" waiting for "ann", due at 2026-03-08T10:00:00-04:00 EDT = 2026-03-08T14:00:00Z; ` +
				`got one due at 2026-03-08T09:00:00-04:00 EDT = 2026-03-08T13:00:00Z (1h0m0s early) (the clock is at 2026-03-08T02:00:00Z)`},
		{"sent already", func(h *connectortest.Harness) { h.Advance(24 * time.Hour); h.RequirePendingAt("ann", "tips", nine) },
			`due at 2026-03-08T09:00:00-04:00 EDT = 2026-03-08T13:00:00Z; none is waiting (the clock is at 2026-03-09T02:00:00Z)` +
				"\n" + `the last decision about "ann" and "tips": 2026-03-08T13:00:00Z delivered tips user=ann`},
		{"a misspelt campaign", func(h *connectortest.Harness) { h.RequirePendingAt("ann", "tip", nine) },
			`none is waiting (the clock is at 2026-03-08T02:00:00Z)` + "\n" + `no campaign "tip" is saved (the engine knows "tips", "welcome")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := outcome(t, func(h *connectortest.Harness) { setup(h) }, tc.fn, withZone(newYork))
			if tc.want == "" {
				require.False(t, f.failed, f.msg)
				return
			}
			require.True(t, f.failed)
			require.Contains(t, f.msg, tc.want)
		})
	}
}

// A deferral leaves a delivery's due time as it was: RequirePendingAt
// at the deferred time fails, and says when the delivery is tried next.
func TestRequirePendingAtSaysWhenADeferredDeliveryIsTriedNext(t *testing.T) {
	start := connectortest.Start.Add(10 * time.Hour)
	setup := func(h *connectortest.Harness) {
		h.AdvanceTo(start)
		h.Apply(rule.Campaign{ID: "welcome"}, rule.Campaign{
			ID: "tips", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "welcome"}}, RateLimit: 1,
		})
		h.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "welcome"})
		h.Tick() // ann's goes
		h.Track(event.Event{UserID: "bob", Kind: event.EmailOpened, CampaignID: "welcome"})
		h.Tick() // bob's waits for the next minute
	}
	f := outcome(t, setup, func(h *connectortest.Harness) {
		p := h.RequirePendingAt("bob", "tips", start)
		require.Equal(t, start.Add(time.Minute), p.ReadyAt)
	})
	require.False(t, f.failed, f.msg)
	f = outcome(t, setup, func(h *connectortest.Harness) { h.RequirePendingAt("bob", "tips", start.Add(time.Minute)) })
	require.True(t, f.failed)
	require.Contains(t, f.msg, `got one due at 2026-01-05T10:00:00Z (1m0s early), next tried at 2026-01-05T10:01:00Z`)
}
