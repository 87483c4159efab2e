package connector_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

func TestFailedSendsAreRetriedWithTheSameID(t *testing.T) {
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

// TestEveryTriggerHasItsOwnDeliveryID: events without an ID at the same
// time are told apart by what they say, whether the first one's delivery
// is still waiting or already sent, and every ID has the documented form.
func TestEveryTriggerHasItsOwnDeliveryID(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		h := connectortest.New(t)
		thanks := rule.Campaign{ID: "thanks", Reeligibility: rule.ReeligibleAfter(0),
			Triggers: []rule.Trigger{{Kind: event.Purchase}}}
		if parallel {
			thanks.PendingPolicy = rule.AllowParallel
		}
		h.Save(thanks)
		h.Publish("thanks")
		h.Advance(time.Hour)
		at := h.Now()
		buy := func(product string) event.Event {
			return event.Event{UserID: "u", Kind: event.Purchase, Name: product, Time: at}
		}
		h.Track(buy("sku-1"))
		if !parallel {
			h.Tick() // sent before the next purchase is tracked
		}
		h.Track(buy("sku-2"))
		h.Tick()
		sent := h.SentTo("u", "thanks")
		require.Len(t, sent, 2, "parallel %v", parallel)
		require.NotEqual(t, sent[0].ID, sent[1].ID, "parallel %v", parallel)
		for _, d := range sent {
			require.Regexp(t, "^[A-Za-z0-9_-]{16}$", d.ID)
		}
	}
}

func TestClaimsAndLeases(t *testing.T) {
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

func TestANewEngineResumesFromTheStore(t *testing.T) {
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

func TestSendTimeoutEndsAHungSendAsAFailedAttempt(t *testing.T) {
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

func TestLastCheckRenewsTheLeaseOfADeliveryThatWaited(t *testing.T) {
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
