package connector_test

import (
	"context"
	"errors"
	"fmt"
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

// TestConcurrentEnginesSendEachDeliveryOnce runs 4 engines on one memory
// store, with 8 goroutines tracking 100,000 events with duplicates and
// exceptions: every expected delivery is sent exactly once.
func TestConcurrentEnginesSendEachDeliveryOnce(t *testing.T) {
	const users, goroutines = 20000, 8
	clk := clock.NewMock()
	clk.Set(connectortest.Start)
	mem := store.NewMemory()
	rec := &recorder{}
	var engines []*connector.Engine
	for range 4 {
		engines = append(engines, newEngine(t, mem, rec, clk, connector.WithBatchSize(64)))
	}
	setupResend(t, engines[0])
	ctx := context.Background()
	t0 := clk.Now()
	// Phase 1: each user receives the newsletter; each receipt is reported
	// twice (the provider retried), by different goroutines and engines.
	// Phase 2: every third user opens it (an exception), also twice.
	var tracked atomic.Int64
	run := func(phase func(i int) (event.Event, bool)) {
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < 2*users; i += goroutines {
					ev, ok := phase(i)
					if !ok {
						continue
					}
					if err := engines[(i+g)%len(engines)].Track(ctx, ev); err != nil {
						t.Error(err)
						return
					}
					tracked.Add(1)
				}
			}()
		}
		wg.Wait()
	}
	run(func(i int) (event.Event, bool) {
		u := i % users
		return event.Event{ID: fmt.Sprint("rcv-", u), UserID: fmt.Sprint("u", u), Kind: event.EmailReceived,
			CampaignID: "newsletter", Time: t0}, true
	})
	run(func(i int) (event.Event, bool) {
		u := i % users
		return event.Event{ID: fmt.Sprint("open-", u), UserID: fmt.Sprint("u", u), Kind: event.EmailOpened,
			CampaignID: "newsletter", Time: t0.Add(time.Hour)}, u%3 == 0
	})
	// Fill up to 100,000 events with noise nobody listens to, concurrently
	// with the ticks below.
	clk.Add(7 * 24 * time.Hour)
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := e.Tick(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tracked.Load() < 100000 {
				_ = engines[g%4].Track(ctx, event.Event{UserID: fmt.Sprint("u", g), Kind: event.SessionStart})
				tracked.Add(1)
			}
		}()
	}
	wg.Wait()
	_, err := engines[0].Tick(ctx) // whatever a racing Tick left
	require.NoError(t, err)

	require.GreaterOrEqual(t, tracked.Load(), int64(100000))
	expected := 0
	for u := range users {
		if u%3 != 0 {
			expected++
		}
	}
	require.Len(t, rec.byID, expected, "one delivery per non-opener")
	for id, n := range rec.byID {
		require.Equal(t, 1, n, "delivery %s sent %d times", id, n)
	}
	for _, d := range rec.sent {
		var u int
		_, _ = fmt.Sscanf(d.UserID, "u%d", &u)
		require.NotZero(t, u%3, "an opener got the resend: %s", d.UserID)
	}
	st, err := engines[0].Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Pending)
}

func TestCampaignChangesAreSeenByOtherEngines(t *testing.T) {
	clk := clock.NewMock()
	mem := store.NewMemory()
	rec := &recorder{}
	a, b := newEngine(t, mem, rec, clk), newEngine(t, mem, rec, clk)
	ctx := context.Background()
	setupResend(t, a)
	// b was built before the campaigns existed: it sees them at once.
	require.NoError(t, b.Track(ctx, event.Event{UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter"}))
	st, err := b.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), st.Pending)
	require.NoError(t, a.Stop(ctx, "resend"))
	require.NoError(t, b.Track(ctx, event.Event{UserID: "v", Kind: event.EmailReceived, CampaignID: "newsletter"}))
	st, err = b.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Pending, "b saw the stop made through a")
	c := newEngine(t, mem, rec, clk) // an engine started after the change
	recd, err := c.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.Equal(t, rule.Stopped, recd.State)
}

// laggingRevision is a store whose Revision answers from a copy refreshed
// only on demand, as the SQLite store's does for up to a second.
type laggingRevision struct {
	*store.Memory
	rev         atomic.Int64
	failReading atomic.Bool // Campaigns fails
}

func (s *laggingRevision) Revision(context.Context, string) (int64, error) { return s.rev.Load(), nil }

func (s *laggingRevision) Campaigns(ctx context.Context, ns string) (int64, []store.CampaignRecord, error) {
	if s.failReading.Load() {
		return 0, nil, errors.New("campaigns unreadable")
	}
	return s.Memory.Campaigns(ctx, ns)
}

// TestApplyFoundDoneSeesTheSet: an engine whose Apply finds every step
// already done by another replica tracks with the set at once, even while
// its store's revision still says nothing changed; and so does one whose
// Publish is refused because another replica published first.
func TestApplyFoundDoneSeesTheSet(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(connectortest.Start)
	mem := store.NewMemory()
	lagging := &laggingRevision{Memory: mem}
	rec := &recorder{}
	a, b := newEngine(t, mem, rec, clk), newEngine(t, lagging, rec, clk)
	received := func(user string) event.Event {
		return event.Event{ID: "r-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"}
	}
	require.NoError(t, b.Track(ctx, received("early"))) // b reads the empty set
	d := &laggingRevision{Memory: mem}
	dEngine := newEngine(t, d, rec, clk)
	require.NoError(t, dEngine.Track(ctx, received("early3"))) // and so does dEngine
	require.NoError(t, a.Apply(ctx, resendCampaigns))
	require.NoError(t, b.Apply(ctx, resendCampaigns)) // nothing left to do
	require.NoError(t, b.Track(ctx, received("ann")))
	require.Empty(t, b.UnknownCampaigns(), "b knows the set")
	st, err := b.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), st.Pending, "ann's resend is scheduled")

	c := newEngine(t, &laggingRevision{Memory: mem}, rec, clk)
	require.NoError(t, c.Track(ctx, received("early2")))
	require.NoError(t, a.Save(ctx, rule.Campaign{ID: "other"}))
	require.NoError(t, a.Publish(ctx, "other"))
	require.ErrorIs(t, c.Publish(ctx, "other"), connector.ErrInvalidTransition)
	recd, err := c.Campaign(ctx, "other")
	require.NoError(t, err, "c read the record its Publish was refused on")
	require.Equal(t, rule.Active, recd.State)

	// When catching up fails, a refusal is still reported as such, and an
	// Apply that found nothing to do reports the failure.
	d.failReading.Store(true)
	require.ErrorIs(t, dEngine.Publish(ctx, "other"), connector.ErrInvalidTransition)
	require.ErrorContains(t, dEngine.Apply(ctx, resendCampaigns), "campaigns unreadable")
}

func TestConcurrentLifecycleAndTracking(t *testing.T) {
	clk := clock.NewMock()
	mem := store.NewMemory()
	rec := &recorder{}
	engines := []*connector.Engine{newEngine(t, mem, rec, clk), newEngine(t, mem, rec, clk)}
	setupResend(t, engines[0])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- engines[1].Run(ctx) }()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := engines[g%2]
			for i := range 300 {
				switch i % 50 {
				case 10:
					_ = e.Stop(ctx, "resend") // may fail: already stopped by the other goroutine
				case 20:
					_ = e.Publish(ctx, "resend")
				case 30:
					c := resendCampaigns[1]
					c.Message = []byte(fmt.Sprintf(`{"v":%d}`, i))
					require.NoError(t, e.Save(ctx, c))
				}
				require.NoError(t, e.Track(ctx, event.Event{UserID: fmt.Sprint("u", i%40), Kind: event.EmailReceived, CampaignID: "newsletter"}))
				_, err := e.Tick(ctx)
				require.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	cancel()
	require.NoError(t, <-runDone)
}

func TestNamespacesShareTheStoreAndNothingElse(t *testing.T) {
	clk := clock.NewMock()
	mem := store.NewMemory()
	recA, recB := &recorder{}, &recorder{}
	a := newEngine(t, mem, recA, clk, connector.WithNamespace("tenant-a"))
	b := newEngine(t, mem, recB, clk, connector.WithNamespace("tenant-b"))
	ctx := context.Background()
	setupResend(t, a)
	// Same campaign IDs, different definitions, in b.
	require.NoError(t, b.Save(ctx, rule.Campaign{ID: "newsletter"}))
	require.NoError(t, b.Save(ctx, rule.Campaign{ID: "resend", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsletter"}}}))
	require.NoError(t, b.Publish(ctx, "resend"))
	require.NoError(t, b.Publish(ctx, "newsletter"))
	ev := event.Event{ID: "same-id", UserID: "same-user", Kind: event.EmailReceived, CampaignID: "newsletter"}
	require.NoError(t, a.Track(ctx, ev))
	require.NoError(t, b.Track(ctx, ev)) // not a duplicate in b, and b does not listen to receipts
	open := event.Event{ID: "open", UserID: "same-user", Kind: event.EmailOpened, CampaignID: "newsletter", Time: clk.Now().Add(time.Hour)}
	require.NoError(t, b.Track(ctx, open))
	clk.Add(8 * 24 * time.Hour)
	_, err := a.Tick(ctx)
	require.NoError(t, err)
	_, err = b.Tick(ctx)
	require.NoError(t, err)
	require.Len(t, recA.sent, 1, "b's open is not an exception in a")
	require.Len(t, recB.sent, 1)
	require.Equal(t, event.EmailReceived, recA.sent[0].Trigger.Kind)
	require.Equal(t, event.EmailOpened, recB.sent[0].Trigger.Kind)
	ca, _ := a.Campaigns(ctx)
	cb, _ := b.Campaigns(ctx)
	require.Len(t, ca, 2)
	require.Len(t, cb, 2)
	require.NotEqual(t, ca[1].Campaign.Triggers[0].Kind, cb[1].Campaign.Triggers[0].Kind)
}
