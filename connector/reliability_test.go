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

// hookStore runs a function after each Claim, to interleave events with
// the engine's steps.
type hookStore struct {
	store.Store
	afterClaim func([]store.Claim)
}

func (s *hookStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	c, err := s.Store.Claim(ctx, ns, now, lease, limit, token)
	if err == nil && len(c) > 0 && s.afterClaim != nil {
		s.afterClaim(c)
	}
	return c, err
}

// recorder is a thread-safe sender counting deliveries by ID.
type recorder struct {
	mu   sync.Mutex
	byID map[string]int
	sent []connector.Delivery
	fail func(connector.Delivery) error
}

func (r *recorder) Send(_ context.Context, d connector.Delivery) error {
	if r.fail != nil {
		if err := r.fail(d); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = map[string]int{}
	}
	r.byID[d.ID]++
	r.sent = append(r.sent, d)
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}

var resendCampaigns = func() []rule.Campaign { n, r := resendToNonOpeners(); return []rule.Campaign{n, r} }()

func newEngine(t *testing.T, s store.Store, send connector.Sender, clk connector.Clock, opts ...connector.Option) *connector.Engine {
	t.Helper()
	e, err := connector.New(s, send, append([]connector.Option{connector.WithClock(clk),
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 4, Base: time.Minute, Max: time.Hour})}, opts...)...)
	require.NoError(t, err)
	return e
}

func setupResend(t *testing.T, e *connector.Engine) {
	t.Helper()
	ctx := context.Background()
	for _, c := range resendCampaigns {
		require.NoError(t, e.Save(ctx, c))
	}
	require.NoError(t, e.Publish(ctx, "resend"))
	require.NoError(t, e.Publish(ctx, "newsletter"))
}

func TestReliability1AtLeastOnceWithStableIDs(t *testing.T) {
	h := connectortest.New(t, connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 5, Base: time.Minute, Max: 4 * time.Minute}))
	h.Save(resendCampaigns...)
	h.Publish("resend", "newsletter")
	h.Sender.Fail = func(d connector.Delivery) error {
		switch d.Attempt {
		case 1:
			return errors.New("421 try later")
		case 2:
			panic("nil map in the host's sender")
		case 3:
			return context.DeadlineExceeded
		}
		return nil
	}
	h.Track(event.Event{ID: "e", UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Advance(8 * 24 * time.Hour)
	attempts := h.Sender.Attempts()
	require.Len(t, attempts, 4)
	for _, a := range attempts {
		require.Equal(t, attempts[0].ID, a.ID)
	}
	due := connectortest.Start.Add(7 * 24 * time.Hour)
	// Backoff doubles: 1, 2, 4 minutes (no jitter in the harness).
	h.RequireSentAt("u", "resend", due.Add(7*time.Minute))
	retried := 0
	for _, d := range h.DecisionsFor("u", "resend") {
		if d.Kind == rule.Retried {
			retried++
			if d.Attempt == 2 {
				require.Contains(t, d.Detail, "sender panicked: nil map")
			}
		}
	}
	require.Equal(t, 3, retried)
}

func TestReliability2ClaimsAndLeases(t *testing.T) {
	t.Run("a claim never completed is sent again after its lease, with the same ID", func(t *testing.T) {
		clk := clock.NewMock()
		clk.Set(connectortest.Start)
		mem := store.NewMemory()
		rec := &recorder{}
		b := newEngine(t, mem, rec, clk, connector.WithLease(5*time.Minute))
		setupResend(t, b)
		require.NoError(t, b.Track(context.Background(), event.Event{ID: "e", UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter"}))
		clk.Add(7 * 24 * time.Hour)
		// Engine "a" claims the delivery and dies before sending it.
		died, err := mem.Claim(context.Background(), "", clk.Now(), 5*time.Minute, 10, 42)
		require.NoError(t, err)
		require.Len(t, died, 1)
		n, err := b.Tick(context.Background())
		require.NoError(t, err)
		require.Zero(t, n, "never while the lease is live")
		clk.Add(5*time.Minute - time.Second)
		n, _ = b.Tick(context.Background())
		require.Zero(t, n)
		clk.Add(time.Second)
		n, err = b.Tick(context.Background())
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, died[0].Pending.ID, rec.sent[0].ID)
	})

	t.Run("an exception that arrives while a delivery is claimed is honoured before the send", func(t *testing.T) {
		clk := clock.NewMock()
		clk.Set(connectortest.Start)
		hs := &hookStore{Store: store.NewMemory()}
		rec := &recorder{}
		var decisions []rule.Decision
		e := newEngine(t, hs, rec, clk, connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) { decisions = append(decisions, d) })))
		setupResend(t, e)
		require.NoError(t, e.Track(context.Background(), event.Event{UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter"}))
		due := clk.Now().Add(7 * 24 * time.Hour)
		hs.afterClaim = func([]store.Claim) {
			// Stamped before the due time, reported after the claim.
			require.NoError(t, e.Track(context.Background(), event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "newsletter", Time: due.Add(-time.Second)}))
		}
		clk.Set(due)
		n, err := e.Tick(context.Background())
		require.NoError(t, err)
		require.Zero(t, n)
		require.Zero(t, rec.count())
		last := decisions[len(decisions)-1]
		require.Equal(t, rule.Cancelled, last.Kind)
		require.Equal(t, rule.ReasonException, last.Reason)
	})

	t.Run("an exception during the send cannot stop it, but stops its retry", func(t *testing.T) {
		for _, sendFails := range []bool{false, true} {
			h := connectortest.New(t)
			h.Save(resendCampaigns...)
			h.Publish("resend", "newsletter")
			h.Track(event.Event{UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter"})
			due := h.Now().Add(7 * 24 * time.Hour)
			h.Sender.Fail = func(connector.Delivery) error {
				h.Sender.Fail = nil
				require.NoError(t, h.Engine.Track(context.Background(),
					event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "newsletter", Time: due.Add(-time.Second)}))
				if sendFails {
					return errors.New("timeout")
				}
				return nil
			}
			h.Advance(8 * 24 * time.Hour)
			if sendFails {
				h.RequireNotSent("u", "resend")
				h.RequireKinds("u", "resend", "scheduled", "cancelled/exception")
			} else {
				h.RequireSent("u", "resend")
				h.RequireKinds("u", "resend", "scheduled", "delivered")
			}
		}
	})

	t.Run("two engines ticking together send each delivery once", func(t *testing.T) {
		clk := clock.NewMock()
		clk.Set(connectortest.Start)
		mem := store.NewMemory()
		rec := &recorder{}
		engines := []*connector.Engine{newEngine(t, mem, rec, clk, connector.WithBatchSize(7)), newEngine(t, mem, rec, clk, connector.WithBatchSize(5))}
		setupResend(t, engines[0])
		for i := range 500 {
			require.NoError(t, engines[i%2].Track(context.Background(), event.Event{UserID: fmt.Sprint("u", i), Kind: event.EmailReceived, CampaignID: "newsletter"}))
		}
		clk.Add(7 * 24 * time.Hour)
		var wg sync.WaitGroup
		for _, e := range engines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.Tick(context.Background())
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		require.Len(t, rec.byID, 500)
		for id, n := range rec.byID {
			require.Equal(t, 1, n, id)
		}
	})
}

func TestReliability3Restart(t *testing.T) {
	clk := clock.NewMock()
	clk.Set(connectortest.Start)
	mem := store.NewMemory()
	first := &recorder{}
	a := newEngine(t, mem, first, clk)
	setupResend(t, a)
	ctx := context.Background()
	require.NoError(t, a.Save(ctx, rule.Campaign{ID: "welcome", Reeligibility: rule.ReeligibleAfter(30 * 24 * time.Hour),
		Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsletter"}}}))
	require.NoError(t, a.Publish(ctx, "welcome"))
	require.NoError(t, a.Save(ctx, rule.Campaign{ID: "paused", Triggers: []rule.Trigger{{Kind: event.EmailClicked, CampaignID: "newsletter"}}}))
	require.NoError(t, a.Publish(ctx, "paused"))
	require.NoError(t, a.Stop(ctx, "paused"))
	received := event.Event{ID: "rcv", UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter"}
	require.NoError(t, a.Track(ctx, received))
	require.NoError(t, a.Track(ctx, event.Event{ID: "open1", UserID: "v", Kind: event.EmailOpened, CampaignID: "newsletter"}))
	_, err := a.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, first.count(), "welcome sent to v")
	a = nil // the first engine is gone; the store remains

	second := &recorder{}
	b := newEngine(t, mem, second, clk)
	rec, err := b.Campaign(ctx, "paused")
	require.NoError(t, err)
	require.Equal(t, rule.Stopped, rec.State, "lifecycle intact")
	require.NoError(t, b.Track(ctx, received)) // the provider retries: still a duplicate
	require.NoError(t, b.Track(ctx, event.Event{ID: "open2", UserID: "v", Kind: event.EmailOpened, CampaignID: "newsletter"}))
	require.NoError(t, b.Track(ctx, event.Event{ID: "click", UserID: "v", Kind: event.EmailClicked, CampaignID: "newsletter"}))
	clk.Add(7 * 24 * time.Hour)
	_, err = b.Tick(ctx)
	require.NoError(t, err)
	require.Len(t, second.sent, 1, "only the pending resend: no duplicate, v not re-eligible yet, paused stays stopped")
	require.Equal(t, "resend", second.sent[0].CampaignID)
	require.Equal(t, "u", second.sent[0].UserID)
}

// TestReliability4ConcurrentEngines is the acceptance test of the
// reliability issue: 4 engines on one memory store, 8 goroutines tracking
// 100,000 events with duplicates and exceptions; every expected delivery is
// sent exactly once.
func TestReliability4ConcurrentEngines(t *testing.T) {
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

func TestReliability4CampaignChangesAreSeenByOtherEngines(t *testing.T) {
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

func TestReliability4ConcurrentLifecycleAndTracking(t *testing.T) {
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

func TestReliability7MemoryStaysFlat(t *testing.T) {
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

func TestReliability8Namespaces(t *testing.T) {
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

func TestReliability9SendDeadline(t *testing.T) {
	h := connectortest.New(t, connector.WithSendTimeout(20*time.Millisecond))
	h.Save(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}})
	h.Publish("f", "o")
	sim := h.Simulator
	blocked := connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
		<-ctx.Done() // a hung provider: the engine's deadline ends the call
		return ctx.Err()
	})
	e, err := connector.New(sim.Store, blocked, connector.WithClock(sim.Clock), connector.WithSendTimeout(20*time.Millisecond),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			if d.Kind == rule.Retried {
				require.Contains(t, d.Detail, "deadline exceeded")
			}
		})))
	require.NoError(t, err)
	require.NoError(t, e.Track(context.Background(), opened("u")))
	n, err := e.Tick(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)
	u, err := sim.Store.User(context.Background(), "", "u")
	require.NoError(t, err)
	require.Len(t, u.Pending, 1)
	require.Equal(t, 1, u.Pending[0].Attempt, "the hung send counted as a failed attempt and will be retried")
}

func TestReliability2LeaseRenewedForSlowBatches(t *testing.T) {
	clk := clock.NewMock()
	clk.Set(connectortest.Start)
	mem := store.NewMemory()
	var readyDuringSend []time.Time
	send := connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
		u, err := mem.User(ctx, "", d.UserID)
		require.NoError(t, err)
		readyDuringSend = append(readyDuringSend, u.Pending[0].ReadyAt)
		clk.Add(50 * time.Second) // a slow provider
		return nil
	})
	e := newEngine(t, mem, send, clk, connector.WithLease(time.Minute), connector.WithSendConcurrency(1))
	setupResend(t, e)
	for _, u := range []string{"a", "b"} {
		require.NoError(t, e.Track(context.Background(), event.Event{UserID: u, Kind: event.EmailReceived, CampaignID: "newsletter"}))
	}
	clk.Add(7 * 24 * time.Hour)
	claimed := clk.Now()
	n, err := e.Tick(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, []time.Time{
		claimed.Add(time.Minute),                  // fresh lease
		claimed.Add(50*time.Second + time.Minute), // renewed: 10 s were left
	}, readyDuringSend)
}

func TestReliability7ReceiptRetention(t *testing.T) {
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

	t.Run("must be positive", func(t *testing.T) {
		for _, d := range []time.Duration{0, -time.Hour} {
			_, err := connector.New(store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
				connector.WithReceiptRetention(d))
			require.ErrorIs(t, err, connector.ErrInvalidOption)
		}
	})
}
