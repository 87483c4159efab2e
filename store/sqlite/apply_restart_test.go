package sqlite_test

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// campaignWrites counts a store's campaign updates.
type campaignWrites struct {
	store.Store
	n atomic.Int64
}

func (s *campaignWrites) UpdateCampaign(ctx context.Context, ns, id string, fn func(*store.CampaignRecord, bool) error) (store.CampaignRecord, error) {
	s.n.Add(1)
	return s.Store.UpdateCampaign(ctx, ns, id, fn)
}

// richSet is an original and follow-ups using every field a definition
// read back from the file might give in another form: a message with
// spaces and keys out of order, times in a zone, a float condition, a
// send window on weekdays, calendar delays, conversions with deadlines.
func richSet(resendDelay time.Duration) []rule.Campaign {
	cet := time.FixedZone("CET", 3600)
	return []rule.Campaign{
		{ID: "news", Channel: event.Email, Message: json.RawMessage(`{ "z": 1, "a": [1.50, 2e3] }`),
			Conversions: []rule.Conversion{{ID: "buy", Kind: event.Purchase, Deadline: 36 * time.Hour,
				Where: []rule.Condition{{Property: "amount", Op: rule.OpGreaterOrEqual, Value: 9.99}}}}},
		{ID: "resend", Channel: event.Email, Delay: rule.After(resendDelay),
			Message: json.RawMessage(`{"subject":  "Did you miss it?"}`),
			Start:   time.Date(2026, 1, 1, 10, 0, 0, 0, cet), End: time.Date(2027, 1, 1, 0, 0, 0, 0, cet),
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news",
				Where: []rule.Condition{{Property: "score", Op: rule.OpGreaterOrEqual, Value: 2.5}}}},
			Exceptions:    []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}},
			Reeligibility: rule.ReeligibleAfter(30 * 24 * time.Hour), PendingPolicy: rule.KeepFirst,
			SendWindow:     &rule.SendWindow{From: rule.At(8, 0), To: rule.At(20, 30), Days: []time.Weekday{time.Monday, time.Friday}, NextAvailable: true},
			ControlPercent: 10, RateLimit: 100},
		{ID: "thanks", Delay: rule.InDaysAt(2, 9, 15),
			Triggers: []rule.Trigger{{Kind: event.ConversionPerformed, CampaignID: "news", Target: "buy"}}},
	}
}

// TestApplyAtEveryStartOnSQLite: an engine applies a set, a user waits
// for a delivery, and a new engine on the same file (a restart) applies
// the same set: no campaign write, no applied decision, the activation
// times and the pending delivery as they were; an edit is then saved as
// one, and keeps the activation.
func TestApplyAtEveryStartOnSQLite(t *testing.T) {
	ctx := context.Background()
	path := testPath(t)
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) // a Monday
	var mu sync.Mutex
	var applied []string
	observe := connector.ObserverFunc(func(d rule.Decision) {
		if d.Kind == rule.Applied {
			mu.Lock()
			defer mu.Unlock()
			applied = append(applied, string(d.Reason)+" "+d.CampaignID)
		}
	})
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := applied
		applied = nil
		return out
	}
	start := func() (*connector.Engine, *campaignWrites, func()) {
		s, err := sqlite.Open(ctx, path)
		require.NoError(t, err)
		w := &campaignWrites{Store: s}
		e, err := connector.New(w, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
			connector.WithClock(clk), connector.WithObserver(observe))
		require.NoError(t, err)
		return e, w, func() { require.NoError(t, s.Close()) }
	}

	e, w, stop := start()
	require.NoError(t, e.Apply(ctx, richSet(24*time.Hour)))
	require.Len(t, take(), 6)
	require.NoError(t, e.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "news",
		Time: clk.Now(), Properties: map[string]any{"score": 3}}))
	before, err := e.Campaigns(ctx)
	require.NoError(t, err)
	u, err := w.User(ctx, "", "ann")
	require.NoError(t, err)
	require.Len(t, u.Pending, 1)
	pending := u.Pending
	stop()

	clk.Add(time.Hour)
	e, w, stop = start()
	require.NoError(t, e.Apply(ctx, richSet(24*time.Hour)))
	require.Empty(t, take(), "the restart's Apply changed something")
	require.Zero(t, w.n.Load(), "the restart's Apply wrote campaigns")
	after, err := e.Campaigns(ctx)
	require.NoError(t, err)
	require.Equal(t, len(before), len(after))
	for i := range before {
		require.Equal(t, before[i].State, after[i].State)
		require.Equal(t, before[i].Activation, after[i].Activation)
		require.True(t, before[i].ActivatedAt.Equal(after[i].ActivatedAt), "%s's activation time moved", before[i].Campaign.ID)
	}
	u, err = w.User(ctx, "", "ann")
	require.NoError(t, err)
	require.Equal(t, pending, u.Pending)
	stop()

	e, _, stop = start()
	defer stop()
	require.NoError(t, e.Apply(ctx, richSet(48*time.Hour)))
	require.Equal(t, []string{"edited resend"}, take())
	resend, err := e.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.True(t, before[1].ActivatedAt.Equal(resend.ActivatedAt))
	require.Equal(t, before[1].Activation, resend.Activation)
}
