package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// appliedLog collects "reason campaign" for the Applied decisions of
// engines.
type appliedLog struct {
	mu    sync.Mutex
	lines []string
}

func (a *appliedLog) Observe(d rule.Decision) {
	if d.Kind == rule.Applied {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.lines = append(a.lines, string(d.Reason)+" "+d.CampaignID)
	}
}

func (a *appliedLog) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.lines
	a.lines = nil
	return out
}

// applySet is an original, a resend of it with what a store gives back in
// another form than it was given (a message with spaces, a start in a
// zone, a float in a condition), and a follow-up of the resend.
func applySet(resendDelay time.Duration) []rule.Campaign {
	return []rule.Campaign{
		{ID: "news"},
		{ID: "resend", Delay: rule.After(resendDelay), Message: json.RawMessage(`{"subject": "In case you missed it",  "n": 1}`),
			Start:      time.Date(2026, 1, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600)),
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news", Where: []rule.Condition{{Property: "score", Op: rule.OpGreaterOrEqual, Value: 2.5}}}},
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}}},
		{ID: "thanks", Delay: rule.After(time.Hour), Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "resend"}}},
	}
}

// Applying the same set at each start of an engine on PostgreSQL changes
// nothing after the first (no campaign update at all, the activation
// times and the pending delivery kept), although the definitions read
// back differ in form from those given; an edit is saved as one.
func TestApplyAtEveryStartOnPostgres(t *testing.T) {
	ctx := context.Background()
	schema := testSchema(t)
	clk := clock.NewMock()
	clk.Set(t0)
	seen := &appliedLog{}
	start := func() (*connector.Engine, *countingStore) {
		s := &countingStore{Store: openStore(t, postgres.WithSchema(schema))}
		e, err := connector.New(s, dropSender, connector.WithClock(clk), connector.WithObserver(seen))
		require.NoError(t, err)
		return e, s
	}
	e, _ := start()
	require.NoError(t, e.Apply(ctx, applySet(24*time.Hour)))
	require.Equal(t, []string{"created news", "created resend", "created thanks",
		"published thanks", "published resend", "published news"}, seen.take())
	require.NoError(t, e.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "news",
		Time: clk.Now(), Properties: map[string]any{"score": 3}}))
	before, err := e.Campaigns(ctx)
	require.NoError(t, err)
	stats, err := e.Stats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, stats.Pending)

	clk.Add(time.Hour)
	e, s := start()
	require.NoError(t, e.Apply(ctx, applySet(24*time.Hour)))
	require.Empty(t, seen.take(), "the restart's Apply changed something")
	require.Zero(t, s.updates.Load(), "the restart's Apply called UpdateCampaign")
	after, err := e.Campaigns(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after)
	stats, err = e.Stats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, stats.Pending)

	e, _ = start()
	require.NoError(t, e.Apply(ctx, applySet(48*time.Hour)))
	require.Equal(t, []string{"edited resend"}, seen.take())
	resend, err := e.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.Equal(t, before[1].ActivatedAt, resend.ActivatedAt)
	require.Equal(t, rule.After(48*time.Hour), resend.Campaign.Delay)
}

// barrierStore holds each engine's first campaign update until every
// engine reached its own, so that all plan from the store before any
// change.
type barrierStore struct {
	store.Store
	once    sync.Once
	arrived *sync.WaitGroup
}

func (s *barrierStore) UpdateCampaign(ctx context.Context, ns, id string, fn func(*store.CampaignRecord, bool) error) (store.CampaignRecord, error) {
	s.once.Do(func() {
		s.arrived.Done()
		s.arrived.Wait()
	})
	return s.Store.UpdateCampaign(ctx, ns, id, fn)
}

// Four replicas, each with its own pool, apply the same set at once on
// PostgreSQL: no error, each campaign created and published once; and an
// interaction tracked as soon as an original is published counts for its
// follow-up, published before it.
func TestApplyFromReplicasOnPostgres(t *testing.T) {
	ctx := context.Background()
	schema := testSchema(t)
	clk := clock.NewMock()
	clk.Set(t0)
	set := applySet(24 * time.Hour)
	for i := range 10 {
		o := fmt.Sprintf("o%02d", i)
		set = append(set, rule.Campaign{ID: o}, rule.Campaign{ID: o + "-f", Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: o}}})
	}
	watcher, err := connector.New(openStore(t, postgres.WithSchema(schema)), dropSender, connector.WithClock(clk))
	require.NoError(t, err)
	var (
		mu       sync.Mutex
		lines    []string
		trackErr error
	)
	observe := connector.ObserverFunc(func(d rule.Decision) {
		if d.Kind != rule.Applied {
			return
		}
		mu.Lock()
		lines = append(lines, string(d.Reason)+" "+d.CampaignID)
		mu.Unlock()
		if d.Reason == rule.ReasonPublished && d.CampaignID == "news" {
			err := watcher.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "news",
				Time: clk.Now(), Properties: map[string]any{"score": 3}})
			mu.Lock()
			trackErr = errors.Join(trackErr, err)
			mu.Unlock()
		}
	})
	const replicas = 4
	var arrived, wg sync.WaitGroup
	arrived.Add(replicas)
	errs := make([]error, replicas)
	for i := range replicas {
		s := &barrierStore{Store: openStore(t, postgres.WithSchema(schema)), arrived: &arrived}
		e, err := connector.New(s, dropSender, connector.WithClock(clk), connector.WithObserver(observe))
		require.NoError(t, err)
		wg.Go(func() { errs[i] = e.Apply(ctx, set) })
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.NoError(t, trackErr)
	require.Len(t, lines, 2*len(set), "changes made more or less than once: %v", lines)
	recs, err := watcher.Campaigns(ctx)
	require.NoError(t, err)
	require.Len(t, recs, len(set))
	for _, rec := range recs {
		require.Equal(t, rule.Active, rec.State, rec.Campaign.ID)
		require.EqualValues(t, 1, rec.Activation, rec.Campaign.ID)
	}
	u, err := watcher.Stats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, u.Pending, "the receipt tracked right after the original's publication was lost")
}
