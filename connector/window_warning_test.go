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

// TestASendWindowThatNeverOpensBeforeTheEndWarns: a follow-up whose send
// window does not open between its earliest due time and its end can
// never send (each trigger is suppressed, outside the window or past the
// end), and Check says so, with or without NextAvailable. A window that
// opens in time, or users whose zones a Directory gives, get no warning.
func TestASendWindowThatNeverOpensBeforeTheEndWarns(t *testing.T) {
	ctx := context.Background()
	followUp := func(w rule.SendWindow) rule.Campaign {
		return rule.Campaign{ID: "early", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "news"}},
			Delay: rule.After(time.Hour), Start: connectortest.Start, End: connectortest.Start.Add(5 * time.Hour),
			SendWindow: &w}
	}
	for _, tc := range []struct {
		name   string
		window rule.SendWindow
		opts   []connector.Option
		warns  bool
	}{
		{"opens after the end", rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 0)}, nil, true},
		{"opens after the end, next available", rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 0), NextAvailable: true}, nil, true},
		{"closed before the first due time", rule.SendWindow{From: rule.At(0, 0), To: rule.At(0, 30)}, nil, true},
		{"opens before the end, next available", rule.SendWindow{From: rule.At(4, 0), To: rule.At(18, 0), NextAvailable: true}, nil, false},
		{"open at the first due time", rule.SendWindow{From: rule.At(0, 0), To: rule.At(2, 0)}, nil, false},
		{"users' own zones", rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 0)},
			[]connector.Option{connector.WithDirectory(connector.LocationFunc(func(context.Context, string) (*time.Location, error) { return nil, nil }))}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := connectortest.New(t, tc.opts...)
			h.Save(rule.Campaign{ID: "news"}, followUp(tc.window))
			h.Publish("early", "news")
			ws, err := h.Engine.Check(ctx)
			require.NoError(t, err)
			var got []rule.Reason
			for _, w := range ws {
				got = append(got, w.Reason)
				require.Contains(t, w.Detail, "send window")
			}
			if tc.warns {
				require.Equal(t, []rule.Reason{rule.ReasonDelayExceedsDuration}, got)
				return
			}
			require.Empty(t, got)
			// Where the warning is not given, a trigger now is sent.
			if tc.opts == nil {
				h.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "news"})
				h.Advance(5 * time.Hour)
				h.RequireKinds("ann", "early", "scheduled", "delivered")
			}
		})
	}
}

// TestTheWindowWarningCountsBackfilledTriggers: published with a
// backfill, a follow-up schedules from the triggers the backfill replays,
// not only from a trigger now. A window such a trigger reaches in time is
// no warning, and the trigger is sent; a backfill older than the maximum
// trigger age counts only from that age.
func TestTheWindowWarningCountsBackfilledTriggers(t *testing.T) {
	ctx := context.Background()
	s := connectortest.Start
	followUp := rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "news"}},
		Delay: rule.After(time.Hour), End: s.Add(20 * time.Hour),
		SendWindow: &rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 0)}}
	opened := event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "news"}
	warnings := func(h *connectortest.Harness) []string {
		var out []string
		for _, d := range h.Decisions() {
			if d.Kind == rule.Warned {
				out = append(out, d.Detail)
			}
		}
		return out
	}
	t.Run("published with a backfill", func(t *testing.T) {
		h := connectortest.New(t, connector.WithInteractionLog(24*time.Hour))
		h.Apply(rule.Campaign{ID: "news"})
		h.AdvanceTo(s.Add(10 * time.Hour))
		h.Save(followUp) // a trigger at 10:00 is due at 11:00, in the window
		h.Track(opened)
		h.AdvanceTo(s.Add(17*time.Hour + 30*time.Minute))
		require.NoError(t, h.Engine.Publish(ctx, "f", connector.Backfill(s)))
		require.Empty(t, warnings(h))
		h.Advance(time.Hour)
		h.RequireSent("ann", "f")
	})
	t.Run("a backfill older than the maximum trigger age", func(t *testing.T) {
		h := connectortest.New(t, connector.WithInteractionLog(24*time.Hour), connector.WithMaxTriggerAge(20*time.Minute))
		h.Apply(rule.Campaign{ID: "news"})
		h.AdvanceTo(s.Add(10 * time.Hour))
		h.Save(followUp)
		h.Track(opened)
		h.AdvanceTo(s.Add(17*time.Hour + 30*time.Minute))
		require.NoError(t, h.Engine.Publish(ctx, "f", connector.Backfill(s)))
		ws := warnings(h)
		require.Len(t, ws, 1)
		require.Contains(t, ws[0], "a trigger at or after 2026-01-05T17:10:00Z")
		h.Advance(24 * time.Hour)
		require.Empty(t, h.SentTo("ann", "f"))
	})
}
