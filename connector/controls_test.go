package connector_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // zones must not depend on the machine's tz database

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// directory is a Directory backed by maps, with injectable failures.
type directory struct {
	mu       sync.Mutex
	zones    map[string]*time.Location
	segments map[string]map[string]bool // segment → users
	fail     error
}

func newDirectory() *directory {
	return &directory{zones: map[string]*time.Location{}, segments: map[string]map[string]bool{}}
}

func (d *directory) Location(_ context.Context, user string) (*time.Location, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return nil, d.fail
	}
	return d.zones[user], nil
}

func (d *directory) InSegment(_ context.Context, user, segment string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return false, d.fail
	}
	return d.segments[segment][user], nil
}

func (d *directory) set(user, segment string, in bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.segments[segment] == nil {
		d.segments[segment] = map[string]bool{}
	}
	d.segments[segment][user] = in
}

func (d *directory) failWith(err error) {
	d.mu.Lock()
	d.fail = err
	d.mu.Unlock()
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// followUp returns an original "o" and a follow-up "f" on email_opened of
// "o", modified by mod, saved and published (follow-up first).
func followUp(h *connectortest.Harness, mod func(c *rule.Campaign)) {
	f := rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}, Channel: event.Email}
	if mod != nil {
		mod(&f)
	}
	h.Save(rule.Campaign{ID: "o"}, f)
	h.Publish("f", "o")
}

func opened(user string) event.Event {
	return event.Event{UserID: user, Kind: event.EmailOpened, CampaignID: "o"}
}

func TestControl1UserTimeZones(t *testing.T) {
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

func TestControl2Audience(t *testing.T) {
	dir := newDirectory()
	dir.set("vip", "vips", true)
	dir.set("leaver", "vips", true)
	h := connectortest.New(t, connector.WithDirectory(dir))
	followUp(h, func(c *rule.Campaign) { c.Audience = "vips"; c.Delay = rule.After(time.Hour) })
	h.Track(opened("vip"), opened("leaver"), opened("other"))
	dir.set("leaver", "vips", false) // left the segment while waiting: no re-check by default
	h.Advance(time.Hour)
	h.RequireSent("vip", "f")
	h.RequireSent("leaver", "f")
	h.RequireNotSent("other", "f")
	h.RequireReason("other", "f", rule.Suppressed, rule.ReasonNotInAudience)

	t.Run("re-checked at send time when the campaign asks", func(t *testing.T) {
		dir := newDirectory()
		dir.set("stayer", "vips", true)
		dir.set("leaver", "vips", true)
		h := connectortest.New(t, connector.WithDirectory(dir))
		followUp(h, func(c *rule.Campaign) { c.Audience, c.RecheckAudience, c.Delay = "vips", true, rule.After(time.Hour) })
		h.Track(opened("stayer"), opened("leaver"))
		dir.set("leaver", "vips", false)
		h.Advance(time.Hour)
		h.RequireSent("stayer", "f")
		h.RequireNotSent("leaver", "f")
		h.RequireKinds("leaver", "f", "scheduled", "suppressed/not_in_audience")
	})

	t.Run("a directory error at send time retries later", func(t *testing.T) {
		dir := newDirectory()
		dir.set("u", "vips", true)
		h := connectortest.New(t, connector.WithDirectory(dir))
		followUp(h, func(c *rule.Campaign) { c.Audience, c.RecheckAudience = "vips", true })
		h.Track(opened("u"))
		dir.failWith(errors.New("timeout"))
		h.Tick()
		h.RequireReason("u", "f", rule.Retried, rule.ReasonDirectoryError)
		dir.failWith(nil)
		h.Advance(time.Hour)
		h.RequireSent("u", "f")
	})

	t.Run("a directory error fails Track and changes nothing", func(t *testing.T) {
		dir := newDirectory()
		h := connectortest.New(t, connector.WithDirectory(dir))
		followUp(h, func(c *rule.Campaign) { c.Audience = "vips" })
		dir.failWith(errors.New("timeout"))
		require.Error(t, h.Engine.Track(context.Background(), opened("u")))
		_, err := h.Store.User(context.Background(), "", "u")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.Empty(t, h.Decisions())
	})

	t.Run("an audience needs a directory", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(rule.Campaign{ID: "o"})
		err := h.Engine.Save(context.Background(), rule.Campaign{ID: "f", Audience: "vips",
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}})
		require.ErrorIs(t, err, connector.ErrNoDirectory)
	})
}

func TestControl3SendWindow(t *testing.T) {
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

func TestControl4QuietHours(t *testing.T) {
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

func TestControl5FrequencyCaps(t *testing.T) {
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
		require.Equal(t, "cap 2 per 1 calendar days on email", d.Detail)
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
	})
}

func TestControl6RateLimit(t *testing.T) {
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

func TestControl7ControlGroups(t *testing.T) {
	t.Run("0 % holds out nobody", func(t *testing.T) {
		h := connectortest.New(t)
		followUp(h, func(c *rule.Campaign) { c.ControlPercent = 0 })
		for i := range 50 {
			h.Track(opened(fmt.Sprintf("u%d", i)))
		}
		h.Tick()
		require.Len(t, h.Sent(), 50)
	})

	t.Run("100 % holds out everybody, counts as received, emits enrollment", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(rule.Campaign{ID: "o"},
			rule.Campaign{ID: "f", ControlPercent: 100, Delay: rule.After(time.Hour),
				Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}},
			rule.Campaign{ID: "survey", Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "f"}}})
		h.Publish("survey", "f", "o")
		h.Track(opened("u"))
		h.Advance(time.Hour)
		h.RequireNotSent("u", "f")
		h.RequireKinds("u", "f", "scheduled", "held_out/control_group")
		h.Tick()
		h.RequireSentAt("u", "survey", connectortest.Start.Add(time.Hour))
		d := h.RequireSent("u", "survey")
		require.Equal(t, event.ControlGroupEnrolled, d.Trigger.Kind)
		h.Track(opened("u"))
		h.RequireReason("u", "f", rule.Suppressed, rule.ReasonNotReeligible)
	})

	t.Run("membership is a stable share", func(t *testing.T) {
		h := connectortest.New(t)
		followUp(h, func(c *rule.Campaign) { c.ControlPercent = 30 })
		held := 0
		for i := range 1000 {
			user := fmt.Sprintf("user-%d", i)
			h.Track(opened(user))
			if rule.ControlBucket(user, "f") < 30 {
				held++
			}
		}
		h.Tick()
		require.Equal(t, 1000-held, len(h.Sent()))
		require.InDelta(t, 300, held, 60, "about 30 %% held out")
		require.Equal(t, rule.ControlBucket("user-1", "f"), rule.ControlBucket("user-1", "f"))
	})
}

func TestControl8Conversions(t *testing.T) {
	newsletter := rule.Campaign{ID: "newsletter", Conversions: []rule.Conversion{
		{ID: "bought", Kind: event.Purchase, Deadline: 72 * time.Hour},
		{ID: "signed_up", Kind: event.CustomEvent, Name: "sign_up"}, // default deadline: 3 days
	}}
	thanks := rule.Campaign{ID: "thanks", Reeligibility: rule.ReeligibleAfter(0),
		Triggers: []rule.Trigger{{Kind: event.ConversionPerformed, CampaignID: "newsletter", Target: "bought"}}}
	setup := func(t *testing.T) *connectortest.Harness {
		h := connectortest.New(t)
		h.Save(newsletter, thanks)
		h.Publish("thanks", "newsletter")
		return h
	}
	received := func(user string) event.Event {
		return event.Event{UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"}
	}
	buy := func(user string) event.Event { return event.Event{UserID: user, Kind: event.Purchase, Name: "sku"} }

	t.Run("the first matching event within the deadline converts, once", func(t *testing.T) {
		h := setup(t)
		h.Track(received("u"))
		h.Advance(time.Hour)
		h.Track(buy("u"))
		h.Track(buy("u")) // once per receipt
		h.Tick()
		d := h.RequireSent("u", "thanks")
		require.Equal(t, event.ConversionPerformed, d.Trigger.Kind)
		require.Equal(t, "bought", d.Trigger.Target)
		require.Equal(t, connectortest.Start.Add(time.Hour), d.Trigger.Time)
		c := h.RequireReason("u", "newsletter", rule.Converted, "")
		require.Equal(t, "conversion bought", c.Rule)
	})

	t.Run("deadline exactly reached is too late; before the receipt does not count", func(t *testing.T) {
		h := setup(t)
		h.Track(buy("early"))
		h.Track(received("early"), received("late"), received("justintime"))
		h.AdvanceTo(connectortest.Start.Add(72*time.Hour - time.Nanosecond))
		h.Track(buy("justintime"))
		h.AdvanceTo(connectortest.Start.Add(72 * time.Hour))
		h.Track(buy("late"))
		h.Tick()
		h.RequireNotSent("early", "thanks")
		h.RequireNotSent("late", "thanks")
		h.RequireSent("justintime", "thanks")
	})

	t.Run("a control group entry opens the windows too", func(t *testing.T) {
		h := connectortest.New(t)
		f := rule.Campaign{ID: "f", ControlPercent: 100, Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}},
			Conversions: []rule.Conversion{{ID: "bought", Kind: event.Purchase}}}
		h.Save(rule.Campaign{ID: "o"}, f, rule.Campaign{ID: "after_purchase",
			Triggers: []rule.Trigger{{Kind: event.ConversionPerformed, CampaignID: "f", Target: "bought"}}})
		h.Publish("after_purchase", "f", "o")
		h.Track(opened("u"))
		h.Tick() // held out: control_group_enrolled opens the window
		h.Advance(24 * time.Hour)
		h.Track(buy("u"))
		h.Tick()
		h.RequireSent("u", "after_purchase")
		h.RequireNotSent("u", "f")
	})

	t.Run("declarations are validated", func(t *testing.T) {
		five := make([]rule.Conversion, 5)
		for i := range five {
			five[i] = rule.Conversion{ID: fmt.Sprint(i), Kind: event.Purchase}
		}
		require.Error(t, rule.Campaign{ID: "c", Conversions: five}.Validate())
		require.Error(t, rule.Campaign{ID: "c", Conversions: []rule.Conversion{{ID: "x", Kind: event.Purchase, Deadline: 31 * 24 * time.Hour}}}.Validate())
		require.Error(t, rule.Campaign{ID: "c", Conversions: []rule.Conversion{{ID: "x", Kind: event.Purchase}, {ID: "x", Kind: event.Purchase}}}.Validate())
		require.NoError(t, rule.Campaign{ID: "c", Conversions: []rule.Conversion{{ID: "x", Kind: event.Purchase, Deadline: 30 * 24 * time.Hour}}}.Validate())
	})
}

func TestControl9PropertyConditions(t *testing.T) {
	h := connectortest.New(t)
	h.Save(rule.Campaign{ID: "o"}, rule.Campaign{
		ID:       "big_spender",
		Triggers: []rule.Trigger{{Kind: event.Purchase, Where: []rule.Condition{rule.GreaterOrEqual("total", 100), rule.OneOf("currency", "EUR", "USD")}}},
		Delay:    rule.After(time.Hour),
		Exceptions: []rule.Exception{{Kind: event.CustomEvent, Name: "refund",
			Where: []rule.Condition{rule.Present("order"), rule.HasPrefix("reason", "damaged")}}},
	})
	h.Publish("big_spender")
	buy := func(user string, total any, currency string) event.Event {
		return event.Event{UserID: user, Kind: event.Purchase, Properties: map[string]any{"total": total, "currency": currency}}
	}
	h.Track(buy("int", int32(100), "EUR"), buy("float", 100.5, "USD"), buy("small", uint8(99), "EUR"), buy("yen", 5000, "JPY"),
		buy("refunded", int64(200), "EUR"), buy("kept", 200, "EUR"))
	h.Advance(time.Minute)
	h.Track(event.Event{UserID: "refunded", Kind: event.CustomEvent, Name: "refund", Properties: map[string]any{"order": 1, "reason": "damaged box"}})
	h.Track(event.Event{UserID: "kept", Kind: event.CustomEvent, Name: "refund", Properties: map[string]any{"order": 1, "reason": "changed mind"}})
	h.Advance(time.Hour)
	for _, u := range []string{"int", "float", "kept"} {
		h.RequireSent(u, "big_spender")
	}
	for _, u := range []string{"small", "yen", "refunded"} {
		h.RequireNotSent(u, "big_spender")
	}
	h.RequireReason("refunded", "big_spender", rule.Cancelled, rule.ReasonException)
}

func TestControl10Policies(t *testing.T) {
	t.Run("replace with latest", func(t *testing.T) {
		h := connectortest.New(t)
		followUp(h, func(c *rule.Campaign) { c.Delay, c.PendingPolicy = rule.After(time.Hour), rule.ReplaceWithLatest })
		h.Track(opened("u"))
		h.Advance(30 * time.Minute)
		h.Track(opened("u"))
		h.Advance(2 * time.Hour)
		h.RequireSentAt("u", "f", connectortest.Start.Add(90*time.Minute))
		h.RequireKinds("u", "f", "scheduled", "cancelled/replaced", "scheduled", "delivered")
	})
	t.Run("allow parallel", func(t *testing.T) {
		h := connectortest.New(t)
		followUp(h, func(c *rule.Campaign) {
			c.Delay, c.PendingPolicy, c.Reeligibility = rule.After(time.Hour), rule.AllowParallel, rule.ReeligibleAfter(0)
		})
		h.Track(opened("u"))
		h.Advance(30 * time.Minute)
		h.Track(opened("u"))
		h.Advance(2 * time.Hour)
		h.RequireSentTimes("u", "f", 2)
	})
	t.Run("allowed lateness lets a late exception cancel", func(t *testing.T) {
		h := connectortest.New(t, connector.WithAllowedLateness(10*time.Minute))
		h.Save(waitCampaign(nil)...)
		h.Publish("f", "newsletter")
		t0 := h.Now()
		h.Track(interaction("u", event.EmailReceived, "newsletter"), interaction("v", event.EmailReceived, "newsletter"))
		h.AdvanceTo(t0.Add(time.Hour + 5*time.Minute))
		h.TrackAt(t0.Add(59*time.Minute), interaction("u", event.EmailOpened, "newsletter")) // reported 6 min late
		h.Advance(10 * time.Minute)
		h.RequireNotSent("u", "f")
		h.RequireReason("u", "f", rule.Cancelled, rule.ReasonException)
		h.RequireSentAt("v", "f", t0.Add(70*time.Minute)) // held for the allowed lateness
	})
	t.Run("maximum trigger age", func(t *testing.T) {
		h := connectortest.New(t, connector.WithMaxTriggerAge(time.Hour))
		followUp(h, nil)
		h.Advance(3 * time.Hour)
		h.TrackAt(h.Now().Add(-time.Hour), opened("just"))
		h.TrackAt(h.Now().Add(-time.Hour-time.Second), opened("stale"))
		h.Tick()
		h.RequireSent("just", "f")
		h.RequireReason("stale", "f", rule.Suppressed, rule.ReasonTriggerTooOld)
	})
}
