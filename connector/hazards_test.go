package connector_test

import (
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// reasons returns Check's warnings as campaign → reasons.
func reasons(t *testing.T, h *connectortest.Harness) map[string][]rule.Reason {
	t.Helper()
	ws, err := h.Engine.Check(context.Background())
	require.NoError(t, err)
	got := map[string][]rule.Reason{}
	for _, w := range ws {
		got[w.CampaignID] = append(got[w.CampaignID], w.Reason)
	}
	return got
}

func TestCheckFindsAnActiveFollowUpOfAnInactiveOriginal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(h *connectortest.Harness)
		opts  []connector.Option
		want  map[string][]rule.Reason
	}{
		{"original still a draft", func(h *connectortest.Harness) { h.Publish("resend") }, nil,
			map[string][]rule.Reason{"resend": {rule.ReasonOriginalNotActive}}},
		{"original stopped", func(h *connectortest.Harness) { h.Publish("resend", "newsletter"); h.Stop("newsletter") }, nil,
			map[string][]rule.Reason{"resend": {rule.ReasonOriginalNotActive}}},
		{"original stopped, stopped originals count", func(h *connectortest.Harness) {
			h.Publish("resend", "newsletter")
			h.Stop("newsletter")
		}, []connector.Option{connector.WithStoppedOriginals()}, map[string][]rule.Reason{}},
		{"original archived: the archived warning says it", func(h *connectortest.Harness) {
			h.Publish("resend", "newsletter")
			h.Archive("newsletter")
		}, nil, map[string][]rule.Reason{"resend": {rule.ReasonArchivedCampaign, rule.ReasonArchivedCampaign}}},
		{"follow-up a draft: nothing to get", func(h *connectortest.Harness) {}, nil, map[string][]rule.Reason{}},
		{"both active", func(h *connectortest.Harness) { h.Publish("resend", "newsletter") }, nil, map[string][]rule.Reason{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := connectortest.New(t, tc.opts...)
			h.Save(resendCampaigns...)
			tc.setup(h)
			require.Equal(t, tc.want, reasons(t, h))
		})
	}
	t.Run("the warning says which original", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(resendCampaigns...)
		h.Publish("resend")
		ws, err := h.Engine.Check(context.Background())
		require.NoError(t, err)
		require.Len(t, ws, 1)
		require.Contains(t, ws[0].Detail, `the original "newsletter" of trigger 0 (email_received of "newsletter") is draft`)
	})
}

func TestCheckFindsAnInteractionOfAChannelTheOriginalIsNotSentOn(t *testing.T) {
	h := connectortest.New(t)
	var warned []rule.Decision
	h.Save(rule.Campaign{ID: "newsletter", Channel: event.Email}, rule.Campaign{ID: "app_news"})
	mismatch := rule.Campaign{ID: "resend",
		Triggers:    []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}, {Kind: event.PushOpened, CampaignID: "app_news"}},
		Delay:       rule.After(day),
		Exceptions:  []rule.Exception{{Kind: event.PushOpened, CampaignID: "newsletter"}},
		Conversions: []rule.Conversion{{ID: "clicked", Kind: event.SMSLinkClicked, CampaignID: "newsletter"}},
	}
	h.Save(mismatch)
	for _, d := range h.Decisions() {
		if d.Kind == rule.Warned {
			warned = append(warned, d)
		}
	}
	h.Publish("resend", "newsletter", "app_news")
	ws, err := h.Engine.Check(context.Background())
	require.NoError(t, err)
	var details []string
	for _, w := range ws {
		require.Equal(t, rule.ReasonChannelMismatch, w.Reason)
		require.Equal(t, "resend", w.CampaignID)
		details = append(details, w.Detail)
	}
	require.Equal(t, []string{
		`exception 0 (push_opened of "newsletter") is an interaction on push, but campaign "newsletter" is sent on email: it can never happen`,
		`conversion "clicked" is an interaction on sms, but campaign "newsletter" is sent on email: it can never happen`,
	}, details, "app_news has no channel: nothing to compare")
	require.Len(t, warned, 2, "Save hands them to the observers too")
}

func TestCheckFindsOverdueDeliveriesWhileNothingTicks(t *testing.T) {
	h := connectortest.New(t)
	h.Save(resendCampaigns...)
	h.Publish("resend", "newsletter")
	h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Clock.Add(7*day + time.Minute) // due a minute ago: not yet overdue
	require.Equal(t, map[string][]rule.Reason{}, reasons(t, h))
	h.Clock.Add(time.Second)
	ws, err := h.Engine.Check(context.Background())
	require.NoError(t, err)
	require.Len(t, ws, 1)
	require.Equal(t, connector.Warning{Reason: rule.ReasonOverdueDeliveries, Detail: "the earliest pending delivery was due at 2026-01-12T00:00:00Z, " +
		"1m1s ago, and nothing sent it: run Engine.Run (or call Engine.Tick on a schedule) in one process at least"}, ws[0])
	h.Tick()
	require.Equal(t, map[string][]rule.Reason{}, reasons(t, h))
}

// Apply saves and publishes each campaign, and hands each warning about it
// to the observers once, whether it publishes the campaign, edits it while
// it is active, or leaves it stopped.
func TestApplyWarnsOncePerHazard(t *testing.T) {
	h := connectortest.New(t, connector.WithQuietHours(connector.QuietHours{From: rule.At(21, 0), To: rule.At(8, 0), Defer: true}))
	night := func(id string, delay time.Duration) rule.Campaign {
		return rule.Campaign{ID: id,
			Triggers:   []rule.Trigger{{Kind: event.PushOpened, CampaignID: "promo"}},
			Delay:      rule.After(delay),
			SendWindow: &rule.SendWindow{From: rule.At(22, 0), To: rule.At(7, 0), NextAvailable: true}}
	}
	warned := func() map[string]int {
		n := map[string]int{}
		for _, d := range h.Decisions() {
			if d.Kind == rule.Warned {
				require.Equal(t, rule.ReasonQuietHours, d.Reason)
				n[d.CampaignID]++
			}
		}
		return n
	}
	h.Apply(rule.Campaign{ID: "promo"}, night("a", time.Hour), night("b", time.Hour))
	require.Equal(t, map[string]int{"a": 1, "b": 1}, warned(), "published")

	require.NoError(t, h.Engine.Stop(context.Background(), "b"))
	require.NoError(t, h.Engine.Apply(context.Background(),
		[]rule.Campaign{{ID: "promo"}, night("a", 2*time.Hour), night("b", 2*time.Hour)}, connector.KeepStopped()))
	require.Equal(t, map[string]int{"a": 2, "b": 2}, warned(), "edited while active, edited and kept stopped")
}

// TestCheckFindsAFollowUpNoCapCounts checks the no_channel warning: a
// follow-up without a channel, while every frequency cap counts one, goes
// uncapped; one with the channel, one that ignores the caps, and any
// under a cap on every channel are covered and draw none.
func TestCheckFindsAFollowUpNoCapCounts(t *testing.T) {
	followUps := func() []rule.Campaign {
		f := func(id string) rule.Campaign {
			return rule.Campaign{ID: id, Delay: rule.After(day),
				Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}
		}
		email, exempt := f("email_resend"), f("exempt")
		email.Channel, exempt.IgnoreFrequencyCaps = event.Email, true
		return []rule.Campaign{{ID: "newsletter"}, f("no_channel"), email, exempt}
	}
	warnings := func(t *testing.T, caps ...connector.FrequencyCap) []connector.Warning {
		h := connectortest.New(t, connector.WithFrequencyCaps(caps...))
		h.Apply(followUps()...)
		ws, err := h.Engine.Check(context.Background())
		require.NoError(t, err)
		var warned []connector.Warning
		for _, d := range h.Decisions() {
			if d.Kind == rule.Warned && d.Reason == rule.ReasonNoChannel {
				warned = append(warned, connector.Warning{CampaignID: d.CampaignID, Reason: d.Reason, Detail: d.Detail})
			}
		}
		require.Equal(t, ws, warned, "Apply hands the observers what Check finds")
		return ws
	}
	t.Run("caps on one channel each", func(t *testing.T) {
		ws := warnings(t, connector.FrequencyCap{Max: 1, Days: 1, Channel: event.Email},
			connector.FrequencyCap{Max: 5, Window: 7 * day, Channel: event.Push})
		require.Equal(t, []connector.Warning{{CampaignID: "no_channel", Reason: rule.ReasonNoChannel,
			Detail: "the follow-up sets no channel, and each frequency cap counts one channel (email, push): none counts or limits its deliveries; set its channel, or ignore_frequency_caps if it is meant to go uncapped"}}, ws)
	})
	t.Run("caps on one channel, some on the same", func(t *testing.T) {
		ws := warnings(t, connector.FrequencyCap{Max: 1, Days: 1, Channel: event.Push},
			connector.FrequencyCap{Max: 1, Days: 1, Channel: event.Email},
			connector.FrequencyCap{Max: 3, Days: 7, Channel: event.Push})
		require.Len(t, ws, 1)
		require.Contains(t, ws[0].Detail, "counts one channel (push, email):", "each channel once, in the caps' order")
	})
	t.Run("a cap on every channel", func(t *testing.T) {
		require.Empty(t, warnings(t, connector.FrequencyCap{Max: 1, Days: 1, Channel: event.Email},
			connector.FrequencyCap{Max: 3, Days: 1}))
	})
	t.Run("no caps", func(t *testing.T) {
		require.Empty(t, warnings(t))
	})
}

// TestCapsChangedUnderAnUnchangedSetShowInCheckAlone pins what
// docs/delivery-controls.md says: a restart that adds caps on one channel
// each, applying the same set, saves and publishes nothing and so warns
// about nothing; Check finds the follow-up without a channel.
func TestCapsChangedUnderAnUnchangedSetShowInCheckAlone(t *testing.T) {
	set := []rule.Campaign{{ID: "newsletter"}, {ID: "resend", Delay: rule.After(day),
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}}
	h := connectortest.New(t)
	h.Apply(set...)
	var warned []rule.Decision
	e, err := connector.New(h.Store, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithClock(h.Clock),
		connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Days: 1, Channel: event.Email}),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			if d.Kind == rule.Warned {
				warned = append(warned, d)
			}
		})))
	require.NoError(t, err)
	require.NoError(t, e.Apply(context.Background(), set))
	require.Empty(t, warned, "the set applied unchanged")
	ws, err := e.Check(context.Background())
	require.NoError(t, err)
	require.Len(t, ws, 1)
	require.Equal(t, "resend", ws[0].CampaignID)
	require.Equal(t, rule.ReasonNoChannel, ws[0].Reason)
}
