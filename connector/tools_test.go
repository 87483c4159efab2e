package connector_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

func TestExplain(t *testing.T) {
	h := connectortest.New(t)
	h.Save(resendCampaigns...)
	h.Publish("resend", "newsletter")
	ctx := context.Background()
	h.Track(event.Event{ID: "rcv-a", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Track(event.Event{ID: "rcv-b", UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Track(event.Event{ID: "rcv-b", UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Advance(2 * day)
	h.Track(event.Event{ID: "open-b", UserID: "bob", Kind: event.EmailOpened, CampaignID: "newsletter"})

	x, err := h.Engine.Explain(ctx, "ann", "resend")
	require.NoError(t, err)
	require.Len(t, x.Decisions, 1)
	require.Len(t, x.Pending, 1, "ann still waits")
	require.Equal(t, `ann and "resend":
  2026-01-05T00:00:00Z triggered by email_received of "newsletter" (event rcv-a): scheduled, due 2026-01-12T00:00:00Z
  now: delivery `+x.Pending[0].ID+` waiting, due 2026-01-12T00:00:00Z
`, x.String())

	h.Advance(6 * day)
	x, err = h.Engine.Explain(ctx, "ann", "resend")
	require.NoError(t, err)
	require.Empty(t, x.Pending)
	require.Equal(t, connectortest.Start.Add(7*day), x.Received)
	require.Contains(t, x.String(), "delivered (delivery ")
	require.Contains(t, x.String(), "last received 2026-01-12T00:00:00Z")

	x, err = h.Engine.Explain(ctx, "bob", "resend")
	require.NoError(t, err)
	text := x.String()
	for _, want := range []string{
		"scheduled, due 2026-01-12T00:00:00Z",
		"email_received (event rcv-b): ignored, already processed",
		`email_opened (event open-b): cancelled by the exception email_opened of "newsletter"`,
	} {
		require.Contains(t, text, want)
	}
	require.Len(t, x.Decisions, 3)

	x, err = h.Engine.Explain(ctx, "nobody", "resend")
	require.NoError(t, err)
	require.Contains(t, x.String(), "no decision recorded")

	t.Run("needs the decision log", func(t *testing.T) {
		e, err := connector.New(store.NewMemory(), connector.SenderFunc(nil))
		require.NoError(t, err)
		_, err = e.Explain(ctx, "ann", "resend")
		require.ErrorIs(t, err, connector.ErrNoDecisionLog)
		_, err = e.ExplainUser(ctx, "ann")
		require.ErrorIs(t, err, connector.ErrNoDecisionLog)
	})

	// ExplainUser gives, from one read, what Explain gives for each
	// campaign the user has anything of.
	h.Track(event.Event{ID: "rcv-a2", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	for _, user := range []string{"ann", "bob", "nobody"} {
		xs, err := h.Engine.ExplainUser(ctx, user)
		require.NoError(t, err)
		var want []connector.Explanation
		for _, id := range []string{"newsletter", "resend"} {
			x, err := h.Engine.Explain(ctx, user, id)
			require.NoError(t, err)
			if len(x.Decisions) > 0 || len(x.Pending) > 0 || !x.Received.IsZero() {
				want = append(want, x)
			}
		}
		require.Equal(t, want, xs, user)
	}
	xs, err := h.Engine.ExplainUser(ctx, "ann")
	require.NoError(t, err)
	require.Len(t, xs, 1, "ann's resend only: the newsletter is the host's")
	require.Len(t, xs[0].Decisions, 3, "scheduled, delivered, not re-eligible")
	require.False(t, xs[0].Received.IsZero())
}

func TestCheck(t *testing.T) {
	h := connectortest.New(t)
	ctx := context.Background()
	h.Save(
		rule.Campaign{ID: "newsletter"},
		rule.Campaign{ID: "old"},
		// Still a draft while newsletter goes live.
		rule.Campaign{ID: "draft_follow", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsletter"}}},
		// A week's delay in a three-day campaign.
		rule.Campaign{ID: "too_long", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
			Delay: rule.After(7 * day), Start: connectortest.Start, End: connectortest.Start.Add(3 * day)},
		// Triggers on a campaign that will be archived.
		rule.Campaign{ID: "on_old", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "old"}}},
		// An exception that cannot happen while waiting.
		rule.Campaign{ID: "self_exception", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
			Delay: rule.After(day), Exceptions: []rule.Exception{{Kind: event.EmailClicked, CampaignID: "self_exception"}}},
		// A cycle: ping triggers on pong, pong on ping.
		rule.Campaign{ID: "ping", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsletter"}}},
		rule.Campaign{ID: "pong", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "ping"}}},
	)
	h.Save(rule.Campaign{ID: "ping", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsletter"}, {Kind: event.EmailOpened, CampaignID: "pong"}}})
	h.Publish("newsletter", "too_long", "on_old", "self_exception", "ping", "pong")
	h.Archive("old")

	ws, err := h.Engine.Check(ctx)
	require.NoError(t, err)
	got := map[string][]rule.Reason{}
	for _, w := range ws {
		got[w.CampaignID] = append(got[w.CampaignID], w.Reason)
	}
	require.Equal(t, map[string][]rule.Reason{
		"draft_follow":   {rule.ReasonDraftFollowUp},
		"too_long":       {rule.ReasonDelayExceedsDuration},
		"on_old":         {rule.ReasonArchivedCampaign},
		"self_exception": {rule.ReasonExceptionNeverWhileWaiting},
		"ping":           {rule.ReasonCycle},
		"pong":           {rule.ReasonCycle},
	}, got, "%v", ws)
	for _, w := range ws {
		if w.Reason == rule.ReasonCycle {
			require.Contains(t, w.Detail, "→")
		}
		require.NotEmpty(t, w.String())
	}

	t.Run("a clean set has no warnings", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(resendCampaigns...)
		h.Publish("resend", "newsletter")
		ws, err := h.Engine.Check(ctx)
		require.NoError(t, err)
		require.Empty(t, ws)
	})
}

func TestBackfill(t *testing.T) {
	h := connectortest.New(t, connector.WithInteractionLog(30*day))
	newsletter, resend := resendToNonOpeners()
	h.Save(newsletter, resend)
	h.Publish("newsletter") // the original went out first: the unsafe order
	t0 := h.Now()
	h.Track(event.Event{ID: "r-ann", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Track(event.Event{ID: "r-bob", UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Advance(day)
	h.Track(event.Event{ID: "o-bob", UserID: "bob", Kind: event.EmailOpened, CampaignID: "newsletter"})
	h.Advance(day)
	h.Track(event.Event{ID: "r-cid", UserID: "cid", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0.Add(-time.Hour)})
	require.Empty(t, h.DecisionsFor("ann", "resend"), "nothing listened: the interactions are only in the log")

	// Publish the follow-up, counting the interactions since t0.
	require.NoError(t, h.Engine.Publish(context.Background(), "resend", connector.Backfill(t0)))
	h.Advance(10 * day)
	d := h.RequireSentAt("ann", "resend", t0.Add(7*day))
	require.Equal(t, "r-ann", d.Trigger.ID)
	h.RequireNotSent("bob", "resend")
	h.RequireKinds("bob", "resend", "scheduled", "cancelled/exception")
	h.RequireNotSent("cid", "resend")
	require.Empty(t, h.DecisionsFor("cid", "resend"), "before the backfill's start: not replayed")
	for _, dec := range h.DecisionsFor("bob", "resend") {
		require.True(t, dec.Backfilled, "%s", dec)
	}

	t.Run("needs the interaction log", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(resendCampaigns...)
		err := h.Engine.Publish(context.Background(), "resend", connector.Backfill(connectortest.Start))
		require.ErrorIs(t, err, connector.ErrNoInteractionLog)
		rec, err := h.Engine.Campaign(context.Background(), "resend")
		require.NoError(t, err)
		require.Equal(t, rule.Draft, rec.State, "nothing changed")
	})

	t.Run("an event tracked twice is replayed once", func(t *testing.T) {
		h := connectortest.New(t, connector.WithInteractionLog(30*day))
		_, resend := resendToNonOpeners()
		resend.PendingPolicy, resend.Reeligibility = rule.AllowParallel, rule.ReeligibleAfter(0)
		h.Save(rule.Campaign{ID: "newsletter"}, resend)
		h.Publish("newsletter")
		t0 := h.Now()
		r := event.Event{ID: "r-ann", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0}
		h.Track(r)
		reused, edge, stamped := r, r, r
		reused.UserID, edge.UserID, stamped.UserID = "cid", "dan", "eve"
		h.Track(reused, edge)
		h.Advance(time.Minute)
		h.Track(r) // the provider's retry: logged again
		other := r
		other.UserID = "bob" // the same ID for another user is another event
		h.Track(other)
		h.AdvanceTo(t0.Add(71 * time.Hour))
		stamped.Time = time.Time{} // stamped on arrival
		h.Track(stamped)
		h.AdvanceTo(t0.Add(72 * time.Hour))
		edge.Time = h.Now() // exactly the dedup window later: tracking takes it again
		h.Track(edge)
		h.AdvanceTo(t0.Add(73 * time.Hour))
		h.Track(stamped) // its retry, stamped on arrival, within the window
		h.AdvanceTo(t0.Add(4 * day))
		reused.Time = h.Now() // the same ID after the dedup window (72 h): another event
		h.Track(reused)
		h.Advance(time.Minute)
		require.NoError(t, h.Engine.Publish(context.Background(), "resend", connector.Backfill(t0)))
		h.Advance(12 * day)
		h.RequireSentTimes("ann", "resend", 1)
		h.RequireSentTimes("bob", "resend", 1)
		h.RequireSentTimes("cid", "resend", 2)
		h.RequireSentTimes("dan", "resend", 2)
		h.RequireSentTimes("eve", "resend", 1)
		h.RequireKinds("ann", "resend", "scheduled", "delivered")
	})

	t.Run("late due times are due at once", func(t *testing.T) {
		h := connectortest.New(t, connector.WithInteractionLog(30*day))
		h.Save(resendCampaigns...)
		h.Publish("newsletter")
		h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
		h.Advance(8 * day)
		require.NoError(t, h.Engine.Publish(context.Background(), "resend", connector.Backfill(connectortest.Start)))
		h.RequireReason("ann", "resend", rule.Scheduled, rule.ReasonLate)
		require.Equal(t, 1, h.Tick())
		require.True(t, strings.HasPrefix(h.RequireSent("ann", "resend").ID, ""), "sent")
	})
}

// TestExplanationStringStaysOnItsLines: a user ID and event ID holding
// line breaks and spaces are quoted in an explanation, which keeps one
// line per decision.
func TestExplanationStringStaysOnItsLines(t *testing.T) {
	h := connectortest.New(t)
	h.Save(resendCampaigns...)
	h.Publish("resend", "newsletter")
	user := "ann\n  2026-01-05T00:00:00Z forged line"
	h.Track(event.Event{ID: "rcv a\nb", UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"})
	x, err := h.Engine.Explain(context.Background(), user, "resend")
	require.NoError(t, err)
	require.Len(t, x.Decisions, 1)
	require.Equal(t, `"ann\n  2026-01-05T00:00:00Z forged line" and "resend":
  2026-01-05T00:00:00Z triggered by email_received of "newsletter" (event "rcv a\nb"): scheduled, due 2026-01-12T00:00:00Z
  now: delivery `+x.Pending[0].ID+` waiting, due 2026-01-12T00:00:00Z
`, x.String())
	require.Contains(t, h.Timeline(), `user="ann\n  2026-01-05T00:00:00Z forged line" event="rcv a\nb"`)
}

// On a real clock decisions are taken a fraction of a second after the
// providers' whole-second stamps: a line, written to the second, names
// the event's time only when it falls in another second, and the last
// receipt is written to the second as the lines are.
func TestExplainWritesTimesToTheSecond(t *testing.T) {
	h := connectortest.New(t)
	h.Save(resendCampaigns...)
	h.Publish("resend", "newsletter")
	h.Advance(400 * time.Millisecond)
	h.TrackAt(connectortest.Start.Add(100*time.Millisecond), event.Event{ID: "rcv-a", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.TrackAt(connectortest.Start.Add(-time.Second), event.Event{ID: "rcv-b", UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Advance(7 * day)

	x, err := h.Engine.Explain(context.Background(), "ann", "resend")
	require.NoError(t, err)
	text := x.String()
	require.Contains(t, text, `2026-01-05T00:00:00Z triggered by email_received of "newsletter" (event rcv-a): scheduled`)
	require.NotContains(t, text, "(event rcv-a) at ", "the event's time is the line's second")
	require.Contains(t, text, "last received 2026-01-12T00:00:00Z\n")

	x, err = h.Engine.Explain(context.Background(), "bob", "resend")
	require.NoError(t, err)
	require.Contains(t, x.String(), "(event rcv-b) at 2026-01-04T23:59:59Z", "an event of another second keeps its time")
}
