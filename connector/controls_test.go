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

func TestAudience(t *testing.T) {
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

func TestControlGroups(t *testing.T) {
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

	t.Run("the side is settled when the delivery is scheduled", func(t *testing.T) {
		h := connectortest.New(t)
		f := rule.Campaign{ID: "f", ControlPercent: 100, Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}}
		h.Save(rule.Campaign{ID: "o"}, f)
		h.Publish("f", "o")
		h.Track(opened("held"))
		f.ControlPercent = 0
		h.Save(f) // an edit while held's delivery waits
		h.Track(opened("sent"))
		f.ControlPercent = 100
		h.Save(f)
		h.Advance(time.Hour)
		h.RequireKinds("held", "f", "scheduled", "held_out/control_group")
		h.RequireSent("sent", "f")
	})
}

func TestConversions(t *testing.T) {
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

func TestPropertyConditions(t *testing.T) {
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

func TestPendingPolicies(t *testing.T) {
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
	t.Run("replace with latest keeps the later trigger's delivery", func(t *testing.T) {
		h := connectortest.New(t)
		followUp(h, func(c *rule.Campaign) { c.Delay, c.PendingPolicy = rule.After(time.Hour), rule.ReplaceWithLatest })
		h.Advance(30 * time.Minute)
		h.Track(opened("u"))                                            // at 30 min: due at 90 min
		h.TrackAt(connectortest.Start.Add(10*time.Minute), opened("u")) // happened before it, reported late
		h.TrackAt(connectortest.Start.Add(30*time.Minute), opened("u")) // the same time: tracked later, replaces
		h.Advance(2 * time.Hour)
		h.RequireSentAt("u", "f", connectortest.Start.Add(90*time.Minute))
		h.RequireKinds("u", "f", "scheduled", "suppressed/already_pending", "cancelled/replaced", "scheduled", "delivered")
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
