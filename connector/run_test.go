package connector

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// runHarness is an engine driven by Run on a mock clock, with channels that
// say when Run arms its timer and when the sender is called.
type runHarness struct {
	t      *testing.T
	clock  *clock.Mock
	engine *Engine
	armed  chan time.Time
	sent   chan Delivery
	errc   chan error
	cancel context.CancelFunc
}

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func newRunHarness(t *testing.T, send SenderFunc) *runHarness {
	t.Helper()
	h := &runHarness{t: t, clock: clock.NewMock(), armed: make(chan time.Time, 100), sent: make(chan Delivery, 100), errc: make(chan error, 1)}
	h.clock.Set(t0)
	if send == nil {
		send = func(_ context.Context, d Delivery) error { h.sent <- d; return nil }
	}
	e, err := New(store.NewMemory(), send, WithClock(h.clock))
	require.NoError(t, err)
	e.armedHook = func(at time.Time) { h.armed <- at }
	h.engine = e
	ctx := context.Background()
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "now", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "later", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "o"}},
		Delay: rule.After(time.Hour)}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "sooner", Triggers: []rule.Trigger{{Kind: event.EmailClicked, CampaignID: "o"}},
		Delay: rule.After(10 * time.Minute)}))
	for _, id := range []string{"now", "later", "sooner", "o"} {
		require.NoError(t, e.Publish(ctx, id))
	}
	return h
}

func (h *runHarness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.errc <- h.engine.Run(ctx)
	}()
	h.t.Cleanup(func() { cancel(); <-done }) // even when the test fails early
}

func (h *runHarness) stop() {
	h.cancel()
	select {
	case err := <-h.errc:
		require.NoError(h.t, err)
	case <-time.After(10 * time.Second):
		h.t.Fatal("Run did not return after its context ended")
	}
}

// waitArmedAt waits until Run arms its timer for want (zero: sleeps without
// a timer). Run may arm more than once for one change (its own wake-up and
// the store's notification both wake it): the arms in between must be for
// times other than want.
func (h *runHarness) waitArmedAt(want time.Time) {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case at := <-h.armed:
			if at.Equal(want) {
				return
			}
		case <-deadline:
			h.t.Fatalf("Run did not arm for %s", want)
		}
	}
}

func (h *runHarness) waitSent() Delivery {
	h.t.Helper()
	select {
	case d := <-h.sent:
		return d
	case <-time.After(10 * time.Second):
		h.t.Fatal("nothing sent")
	}
	return Delivery{}
}

func (h *runHarness) track(kind event.Kind) {
	h.t.Helper()
	require.NoError(h.t, h.engine.Track(context.Background(), event.Event{UserID: "u", Kind: kind, CampaignID: "o"}))
}

func TestRunSendsImmediateDeliveriesWhenWoken(t *testing.T) {
	defer goleak.VerifyNone(t)
	h := newRunHarness(t, nil)
	h.start()
	h.waitArmedAt(time.Time{}) // nothing due: Run sleeps without a timer
	h.track(event.EmailOpened)
	d := h.waitSent()
	require.Equal(t, "now", d.CampaignID)
	require.Equal(t, t0, h.clock.Now(), "sent without the clock moving")
	h.stop()
}

func TestRunArmsOneTimerForTheEarliestDueTime(t *testing.T) {
	defer goleak.VerifyNone(t)
	h := newRunHarness(t, nil)
	h.start()
	h.waitArmedAt(time.Time{})
	h.track(event.EmailReceived) // due in an hour
	h.waitArmedAt(t0.Add(time.Hour))
	h.track(event.EmailClicked) // due in ten minutes: Run re-arms earlier
	h.waitArmedAt(t0.Add(10 * time.Minute))

	h.clock.Add(10 * time.Minute)
	require.Equal(t, "sooner", h.waitSent().CampaignID)
	h.waitArmedAt(t0.Add(time.Hour))
	h.clock.Add(50 * time.Minute)
	require.Equal(t, "later", h.waitSent().CampaignID)
	h.waitArmedAt(time.Time{})
	h.stop()
}

func TestRunRefusesASecondRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	h := newRunHarness(t, nil)
	h.start()
	h.waitArmedAt(time.Time{})
	require.ErrorIs(t, h.engine.Run(context.Background()), ErrAlreadyRunning)
	h.stop()
}

func TestRunLetsAnInFlightSendFinish(t *testing.T) {
	defer goleak.VerifyNone(t)
	started, release := make(chan struct{}), make(chan struct{})
	var decisions []rule.Decision
	h := newRunHarness(t, func(ctx context.Context, d Delivery) error {
		close(started)
		<-release
		return nil
	})
	h.engine.cfg.observers = append(h.engine.cfg.observers, ObserverFunc(func(d rule.Decision) { decisions = append(decisions, d) }))
	h.engine.observed = true
	h.start()
	h.waitArmedAt(time.Time{})
	h.track(event.EmailOpened)
	<-started
	h.cancel()
	close(release)
	require.NoError(t, <-h.errc)
	require.Equal(t, rule.Delivered, decisions[len(decisions)-1].Kind, "the outcome of the send is recorded")
	st, err := h.engine.Stats(context.Background())
	require.NoError(t, err)
	require.Zero(t, st.Pending)
}

// TestTrackWakesOnlyARunningRun checks that a scheduling Track signals Run
// only while Run is running (before it starts and after it stops there is
// nobody to wake), and that what was scheduled before Run started is sent
// by it all the same.
func TestTrackWakesOnlyARunningRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	h := newRunHarness(t, nil)
	h.track(event.EmailOpened)
	require.Empty(t, h.engine.wake, "signalled with no Run")
	h.start()
	d := h.waitSent()
	require.Equal(t, "now", d.CampaignID)
	h.waitArmedAt(time.Time{})
	h.stop()
	for len(h.engine.wake) > 0 { // a wake-up Run had no time to take
		<-h.engine.wake
	}
	h.track(event.EmailClicked) // schedules "sooner"
	require.Empty(t, h.engine.wake, "signalled after Run stopped")
}

// countingClock is a mock clock that counts its reads.
type countingClock struct {
	*clock.Mock
	reads atomic.Int64
}

func (c *countingClock) Now() time.Time { c.reads.Add(1); return c.Mock.Now() }

// TestTrackReadsTheClockOnlyWhenNeeded checks that an event nothing listens
// to is answered without reading the clock (most of a host's events), and
// that one with listeners, one logged for backfill and one remembered
// with WithDedupAll still are stamped with it.
func TestTrackReadsTheClockOnlyWhenNeeded(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		opts  []Option
		ev    event.Event
		reads bool
	}{
		{"nothing listens", nil, event.Event{UserID: "u", Kind: event.SessionStart}, false},
		{"a trigger", nil, event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "o"}, true},
		{"logged for backfill", []Option{WithInteractionLog(time.Hour)}, event.Event{UserID: "u", Kind: event.SessionStart}, true},
		{"remembered", []Option{WithDedupAll()}, event.Event{ID: "e", UserID: "u", Kind: event.SessionStart}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &countingClock{Mock: clock.NewMock()}
			clk.Set(t0)
			e, err := New(store.NewMemory(), SenderFunc(func(context.Context, Delivery) error { return nil }), append(tc.opts, WithClock(clk))...)
			require.NoError(t, err)
			require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
			require.NoError(t, e.Save(ctx, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}}))
			require.NoError(t, e.Publish(ctx, "o"))
			require.NoError(t, e.Publish(ctx, "f"))
			before := clk.reads.Load()
			require.NoError(t, e.Track(ctx, tc.ev))
			require.Equal(t, tc.reads, clk.reads.Load() > before, "clock read")
		})
	}
}
