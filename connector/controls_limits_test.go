package connector_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

func TestFrequencyCaps(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	dir := newDirectory()
	dir.zones["u"] = paris
	day := time.Date(2026, 1, 6, 0, 0, 0, 0, paris)

	two := func(id string, ch event.Channel, kind event.Kind) rule.Campaign {
		return rule.Campaign{ID: id, Channel: ch, Reeligibility: rule.ReeligibleAfter(0),
			Triggers: []rule.Trigger{{Kind: kind, CampaignID: "o"}}}
	}
	setup := func(t *testing.T, caps ...connector.FrequencyCap) *connectortest.Harness {
		h := connectortest.New(t, connector.WithDirectory(dir), connector.WithFrequencyCaps(caps...))
		exempt := two("exempt", event.Email, event.EmailClicked)
		exempt.IgnoreFrequencyCaps = true
		h.Save(rule.Campaign{ID: "o"}, two("mail", event.Email, event.EmailOpened), two("push", event.Push, event.PushOpened), exempt)
		h.Publish("mail", "push", "exempt", "o")
		return h
	}
	send := func(h *connectortest.Harness, at time.Time, kind event.Kind) {
		h.AdvanceTo(at)
		h.Track(event.Event{UserID: "u", Kind: kind, CampaignID: "o"})
		h.Tick()
	}

	t.Run("calendar days end at local midnight", func(t *testing.T) {
		h := setup(t, connector.FrequencyCap{Max: 2, Channel: event.Email, Days: 1})
		send(h, day.Add(9*time.Hour), event.EmailOpened)
		send(h, day.Add(23*time.Hour+59*time.Minute), event.EmailOpened)
		send(h, day.Add(23*time.Hour+59*time.Minute+59*time.Second), event.EmailOpened) // third today: capped
		send(h, day.Add(24*time.Hour), event.EmailOpened)                               // local midnight: a new day
		h.RequireSentTimes("u", "mail", 3)
		d := h.RequireReason("u", "mail", rule.Suppressed, rule.ReasonFrequencyCapped)
		require.Equal(t, "cap 2 per calendar day on email", d.Detail)
		// Other channels and exempt campaigns are neither capped nor counted.
		send(h, day.Add(24*time.Hour+time.Minute), event.PushOpened)
		send(h, day.Add(24*time.Hour+2*time.Minute), event.EmailClicked)
		send(h, day.Add(24*time.Hour+3*time.Minute), event.EmailOpened)
		h.RequireSentTimes("u", "push", 1)
		h.RequireSentTimes("u", "exempt", 1)
		h.RequireSentTimes("u", "mail", 4)
		send(h, day.Add(24*time.Hour+4*time.Minute), event.EmailOpened)
		h.RequireSentTimes("u", "mail", 4)
	})

	t.Run("rolling windows: exactly one window later counts no more", func(t *testing.T) {
		h := setup(t, connector.FrequencyCap{Max: 1, Window: 24 * time.Hour})
		send(h, day, event.EmailOpened)
		send(h, day.Add(24*time.Hour-time.Nanosecond), event.PushOpened) // any channel: capped
		send(h, day.Add(24*time.Hour), event.PushOpened)
		h.RequireSentTimes("u", "mail", 1)
		h.RequireSentTimes("u", "push", 1)
		h.RequireKinds("u", "push", "scheduled", "suppressed/frequency_capped", "scheduled", "delivered")
	})

	t.Run("several caps combine with AND; capped sends do not count", func(t *testing.T) {
		h := setup(t, connector.FrequencyCap{Max: 3, Window: 7 * 24 * time.Hour}, connector.FrequencyCap{Max: 1, Channel: event.Push, Days: 1})
		send(h, day.Add(time.Hour), event.PushOpened)
		send(h, day.Add(2*time.Hour), event.PushOpened) // push cap
		send(h, day.Add(3*time.Hour), event.EmailOpened)
		send(h, day.Add(4*time.Hour), event.EmailOpened) // 3 in 7 days: the capped push did not count
		send(h, day.Add(5*time.Hour), event.EmailOpened) // weekly cap
		h.RequireSentTimes("u", "push", 1)
		h.RequireSentTimes("u", "mail", 2)
		require.Len(t, h.Sent(), 3)
	})

	t.Run("a capped delivery does not count as received", func(t *testing.T) {
		h := setup(t, connector.FrequencyCap{Max: 1, Days: 1})
		once := rule.Campaign{ID: "once", Channel: event.Email, Triggers: []rule.Trigger{{Kind: event.EmailAliasClicked, CampaignID: "o"}}}
		h.Save(once)
		h.Publish("once")
		send(h, day, event.EmailOpened)
		alias := event.EmailAliasClicked
		send(h, day.Add(time.Hour), alias) // capped
		send(h, day.Add(24*time.Hour), alias)
		h.RequireSentTimes("u", "once", 1)
	})

	t.Run("caps are validated", func(t *testing.T) {
		for _, c := range []connector.FrequencyCap{{}, {Max: 1}, {Max: 1, Window: time.Hour, Days: 1}, {Max: 1, Days: 1, Channel: "fax"}} {
			_, err := connector.New(store.NewMemory(), connector.SenderFunc(nil), connector.WithFrequencyCaps(c))
			require.ErrorIs(t, err, connector.ErrInvalidOption, "%+v", c)
		}
		_, err := connector.New(store.NewMemory(), connector.SenderFunc(nil), connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Days: 1, Channel: "mail"}))
		require.ErrorContains(t, err, `frequency cap: unknown channel "mail" (did you mean "email"?)`)
		_, err = connector.New(store.NewMemory(), connector.SenderFunc(nil),
			connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Channel: event.Email, Window: time.Hour, Days: 1}))
		require.ErrorContains(t, err, `frequency cap {Max: 1, Channel: "email"} needs exactly one of a positive Window `+
			`(rolling) or Days (calendar days), got Window 1h0m0s and Days 1`, "both fields named, not the cap's String, which shows one")
	})
}

func TestRateLimit(t *testing.T) {
	h := connectortest.New(t)
	followUp(h, func(c *rule.Campaign) { c.RateLimit = 2 })
	for i := range 5 {
		h.Track(opened(fmt.Sprintf("u%d", i)))
	}
	h.Tick()
	require.Len(t, h.Sent(), 2, "two in the first minute")
	h.Advance(time.Minute)
	require.Len(t, h.Sent(), 4)
	h.Advance(time.Minute)
	require.Len(t, h.Sent(), 5)
	h.RequireKinds("u4", "f", "scheduled", "deferred/rate_limited", "deferred/rate_limited", "delivered")
	h.RequireSentAt("u4", "f", connectortest.Start.Add(2*time.Minute))

	t.Run("aborted when deferred too long", func(t *testing.T) {
		h := connectortest.New(t, connector.WithMaxDeferral(90*time.Second))
		followUp(h, func(c *rule.Campaign) { c.RateLimit = 1 })
		for i := range 3 {
			h.Track(opened(fmt.Sprintf("u%d", i)))
		}
		h.Advance(5 * time.Minute)
		require.Len(t, h.Sent(), 2)
		h.RequireKinds("u2", "f", "scheduled", "deferred/rate_limited", "suppressed/rate_limited")
	})
}

// TestAnExemptSendInFlightIsNotCounted: while engine a sends a follow-up
// that ignores the caps, engine b's last check of another follow-up for
// the same user does not count it.
func TestAnExemptSendInFlightIsNotCounted(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(connectortest.Start)
	mem := store.NewMemory()
	inSend, released := make(chan struct{}), make(chan struct{})
	var release sync.Once // once "mail" is decided, or b's Tick is over
	releaseExempt := func() { release.Do(func() { close(released) }) }
	var sent []string
	var mu sync.Mutex
	sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		if d.CampaignID == "exempt" {
			close(inSend)
			<-released
		}
		mu.Lock()
		sent = append(sent, d.CampaignID)
		mu.Unlock()
		return nil
	})
	caps := connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Window: 24 * time.Hour})
	onMail := connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
		if d.CampaignID == "mail" && (d.Kind == rule.Delivered || d.Kind == rule.Suppressed) {
			releaseExempt()
		}
	}))
	a := newEngine(t, mem, sender, clk, caps)
	b := newEngine(t, mem, sender, clk, caps, onMail)
	opened := []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}
	require.NoError(t, a.Apply(ctx, []rule.Campaign{{ID: "o"},
		{ID: "exempt", IgnoreFrequencyCaps: true, Triggers: opened},
		{ID: "mail", Delay: rule.After(time.Second), Triggers: opened}}))
	require.NoError(t, a.Track(ctx, event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "o"}))
	done := make(chan error)
	go func() {
		_, err := a.Tick(ctx) // sends "exempt", and waits in the sender
		done <- err
	}()
	select {
	case <-inSend:
	case err := <-done:
		t.Fatalf("a's Tick ended (%v) without sending \"exempt\"", err)
	}
	clk.Add(time.Second)
	_, err := b.Tick(ctx) // "mail"'s last check, while "exempt" is in flight
	releaseExempt()
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.ElementsMatch(t, []string{"mail", "exempt"}, sent)
}

// TestADayCapOnAnotherChannelNeedsNoZone: a calendar-day cap on email
// does not make a push follow-up ask for the user's zone, so a directory
// that fails does not hold the push back.
func TestADayCapOnAnotherChannelNeedsNoZone(t *testing.T) {
	var asked atomic.Int64
	dir := connector.LocationFunc(func(context.Context, string) (*time.Location, error) {
		asked.Add(1)
		return nil, fmt.Errorf("directory down")
	})
	h := connectortest.New(t, connector.WithDirectory(dir),
		connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Channel: event.Email, Days: 1}))
	h.Apply(rule.Campaign{ID: "o"}, rule.Campaign{ID: "push", Channel: event.Push,
		Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}})
	h.Track(event.Event{UserID: "u", Kind: event.PushOpened, CampaignID: "o"})
	h.Tick()
	h.RequireSent("u", "push")
	require.Zero(t, asked.Load(), "the zone was asked for")
}

// A cap counts its sends for as long as its horizon, a time.Duration: a
// cap of more calendar days than one holds (about 292 years) is refused,
// rather than kept with a horizon that overflows and forgets every send
// at once. The longest accepted still caps.
func TestACapOfMoreDaysThanADurationHoldsIsRefused(t *testing.T) {
	for _, days := range []int{106751, 200000, math.MaxInt} {
		_, err := connector.New(store.NewMemory(), connector.SenderFunc(nil),
			connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Days: days}))
		require.ErrorIs(t, err, connector.ErrInvalidOption, "Days %d", days)
		require.ErrorContains(t, err, fmt.Sprintf("got Days %d", days))
	}
	h := harnessAt(t, connectortest.Start, connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Days: 106750}))
	followUp(h, func(c *rule.Campaign) { c.Reeligibility = rule.ReeligibleAfter(0) })
	sendAt(h, connectortest.Start.Add(time.Hour), "u")
	sendAt(h, connectortest.Start.Add(48*time.Hour), "u")
	h.RequireKinds("u", "f", "scheduled", "delivered", "scheduled", "suppressed/frequency_capped")
}

// TestFrequencyCapString checks the words a cap reads with in decisions'
// details: one calendar day in the singular, a rolling window in the
// largest unit that measures it whole ("7 days", not "168h0m0s"; "36
// hours", not a day and a half), one unit without its 1, and Go's form
// only for what no whole second measures.
func TestFrequencyCapString(t *testing.T) {
	for _, tc := range []struct {
		cap  connector.FrequencyCap
		want string
	}{
		{connector.FrequencyCap{Max: 1, Days: 1}, "1 per calendar day"},
		{connector.FrequencyCap{Max: 3, Days: 7, Channel: event.Email}, "3 per 7 calendar days on email"},
		{connector.FrequencyCap{Max: 5, Window: 24 * time.Hour, Channel: event.Push}, "5 per 24 hours on push"},
		{connector.FrequencyCap{Max: 5, Window: 7 * 24 * time.Hour, Channel: event.Push}, "5 per 7 days on push"},
		{connector.FrequencyCap{Max: 2, Window: 48 * time.Hour}, "2 per 2 days"},
		{connector.FrequencyCap{Max: 2, Window: 36 * time.Hour}, "2 per 36 hours"},
		{connector.FrequencyCap{Max: 1, Window: time.Hour}, "1 per hour"},
		{connector.FrequencyCap{Max: 1, Window: 90 * time.Minute}, "1 per 90 minutes"},
		{connector.FrequencyCap{Max: 1, Window: time.Minute}, "1 per minute"},
		{connector.FrequencyCap{Max: 1, Window: 90 * time.Second}, "1 per 90 seconds"},
		{connector.FrequencyCap{Max: 1, Window: time.Second}, "1 per second"},
		{connector.FrequencyCap{Max: 1, Window: 1500 * time.Millisecond}, "1 per 1.5s"},
	} {
		require.Equal(t, tc.want, tc.cap.String())
	}
}
