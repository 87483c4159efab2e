package connector_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

func TestRememberedEventIDsStayWithinTheDedupWindow(t *testing.T) {
	// Millions of unique event IDs flow through a one-hour dedup window:
	// the store holds about one window's worth, not all of them.
	h := connectortest.New(t, connector.WithDedupWindow(time.Hour), connector.WithPruneInterval(time.Minute))
	h.Save(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f", Reeligibility: rule.ReeligibleAfter(0),
		Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}},
		Delay:    rule.After(time.Minute), Exceptions: []rule.Exception{{Kind: event.EmailClicked, CampaignID: "o"}}})
	h.Publish("f", "o")
	const users = 1000
	ctx := context.Background()
	var peak int64
	for i := range eventsThroughWindow {
		ev := event.Event{ID: fmt.Sprint("e", i), UserID: fmt.Sprint("u", i%users), Kind: event.EmailClicked, CampaignID: "o"}
		if err := h.Engine.Track(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 999 {
			h.Clock.Add(time.Minute) // 1,000 events a minute: 60,000 in a window
			h.Tick()
		}
		if i%checkEvery == checkEvery-1 {
			// The remembered IDs are bounded by the window (60,000 events
			// plus one prune interval), whatever the number of events so far.
			seen := h.Store.SeenCount("")
			peak = max(peak, seen)
			require.LessOrEqual(t, seen, int64(61000), "after %d events the store remembers %d IDs", i+1, seen)
			st, err := h.Store.Stats(ctx, "")
			require.NoError(t, err)
			require.LessOrEqual(t, st.Users, int64(users))
		}
	}
	require.Greater(t, peak, int64(50000), "the window is full at its peak")
}

func TestReceiptRetention(t *testing.T) {
	ctx := context.Background()
	receipt := func(t *testing.T, h *connectortest.Harness, user, campaign string) (store.Receipt, bool) {
		t.Helper()
		u, err := h.Store.User(ctx, "", user)
		require.NoError(t, err)
		return u.Receipt(campaign)
	}
	setup := func(t *testing.T, re rule.Reeligibility, opts ...connector.Option) *connectortest.Harness {
		h := connectortest.New(t, append([]connector.Option{connector.WithPruneInterval(time.Minute)}, opts...)...)
		h.Save(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f", Reeligibility: re,
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}})
		h.Publish("f", "o")
		return h
	}
	open := func(h *connectortest.Harness, id string) {
		h.Track(event.Event{ID: id, UserID: "ann", Kind: event.EmailOpened, CampaignID: "o"})
		h.Tick()
	}

	t.Run("kept for good by default", func(t *testing.T) {
		h := setup(t, rule.OnceOnly())
		open(h, "e1")
		h.RequireSentTimes("ann", "f", 1)
		h.Advance(400 * 24 * time.Hour)
		_, ok := receipt(t, h, "ann", "f")
		require.True(t, ok, "the receipt outlives a year")
		open(h, "e2")
		h.RequireSentTimes("ann", "f", 1)
		h.RequireReason("ann", "f", rule.Suppressed, rule.ReasonNotReeligible)
	})

	t.Run("forgotten after the retention, once only", func(t *testing.T) {
		h := setup(t, rule.OnceOnly(), connector.WithReceiptRetention(30*24*time.Hour))
		open(h, "e1")
		sent := h.RequireSent("ann", "f")
		r, ok := receipt(t, h, "ann", "f")
		require.True(t, ok)
		require.Equal(t, sent.DueAt.Add(30*24*time.Hour), r.Expires)
		h.Advance(30*24*time.Hour - time.Minute)
		_, ok = receipt(t, h, "ann", "f")
		require.True(t, ok, "kept until the retention has passed")
		open(h, "e2")
		h.RequireSentTimes("ann", "f", 1)
		h.Advance(2 * time.Minute) // past the retention, and a prune
		_, ok = receipt(t, h, "ann", "f")
		require.False(t, ok, "pruned as the clock advances")
		open(h, "e3")
		h.RequireSentTimes("ann", "f", 2)
	})

	t.Run("never before the re-eligibility window plus the dedup window", func(t *testing.T) {
		h := setup(t, rule.ReeligibleAfter(10*24*time.Hour), connector.WithReceiptRetention(time.Hour),
			connector.WithDedupWindow(24*time.Hour))
		open(h, "e1")
		sent := h.RequireSent("ann", "f")
		r, ok := receipt(t, h, "ann", "f")
		require.True(t, ok)
		require.Equal(t, sent.DueAt.Add(11*24*time.Hour), r.Expires)
		h.Advance(11*24*time.Hour + time.Minute)
		_, ok = receipt(t, h, "ann", "f")
		require.False(t, ok)
	})

	t.Run("a dedup window too long to add to the re-eligibility window keeps the receipt", func(t *testing.T) {
		// 10 days plus about 292 years is more than a time.Duration holds:
		// the sum saturates rather than wrap to a negative wait, which
		// would leave the one-hour retention alone to decide.
		h := setup(t, rule.ReeligibleAfter(10*24*time.Hour), connector.WithReceiptRetention(time.Hour),
			connector.WithDedupWindow(math.MaxInt64))
		open(h, "e1")
		sent := h.RequireSent("ann", "f")
		h.Advance(11*24*time.Hour + time.Minute)
		r, ok := receipt(t, h, "ann", "f")
		require.True(t, ok, "kept past the retention")
		require.Equal(t, sent.DueAt.Add(math.MaxInt64), r.Expires)
	})

	t.Run("must be positive", func(t *testing.T) {
		for _, d := range []time.Duration{0, -time.Hour} {
			_, err := connector.New(store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
				connector.WithReceiptRetention(d))
			require.ErrorIs(t, err, connector.ErrInvalidOption)
		}
	})
}
