package connector

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// The tests of Run run in a synctest bubble: the engine's clock is the
// bubble's fake time, which moves only when every goroutine of the test
// waits, so what Run does at each instant is exact and nothing depends on
// how fast the machine is.

// runStore is a memory store that records when Run looks for due
// deliveries (each Claim) and fails the Claims its plan says to.
type runStore struct {
	*store.Memory
	mu     sync.Mutex
	claims []time.Time
	fail   func(call int) bool // nil: never
}

var errStoreDown = errors.New("test: store down")

func (s *runStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	s.mu.Lock()
	call := len(s.claims)
	s.claims = append(s.claims, time.Now())
	fail := s.fail != nil && s.fail(call)
	s.mu.Unlock()
	if fail {
		return nil, errStoreDown
	}
	return s.Memory.Claim(ctx, ns, now, lease, limit, token)
}

// claimTimes returns when each Claim was made.
func (s *runStore) claimTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims
}

// runHarness is an engine on the bubble's clock, with follow-ups of "o"
// due at once ("now", on an open), in ten minutes ("sooner", on a click)
// and in an hour ("later", on a receipt), and Run in a goroutine of the
// bubble. It has one send slot: each Tick makes one Claim.
type runHarness struct {
	t      *testing.T
	store  *runStore
	engine *Engine
	start  time.Time
	mu     sync.Mutex
	sent   []sentAt
	done   chan error
	cancel context.CancelFunc
}

type sentAt struct {
	campaign string
	at       time.Time
}

// newRunHarness returns a harness whose sender is send, or one that
// records what it is handed when send is nil. Call it inside the bubble.
func newRunHarness(t *testing.T, send SenderFunc, opts ...Option) *runHarness {
	t.Helper()
	h := &runHarness{t: t, store: &runStore{Memory: store.NewMemory()}, start: time.Now(), done: make(chan error, 1)}
	if send == nil {
		send = func(_ context.Context, d Delivery) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.sent = append(h.sent, sentAt{d.CampaignID, time.Now()})
			return nil
		}
	}
	e, err := New(h.store, send, append([]Option{WithClock(clock.New()), WithSendConcurrency(1)}, opts...)...)
	require.NoError(t, err)
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

// run starts Run and waits until it sleeps.
func (h *runHarness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.engine.Run(ctx) }()
	h.t.Cleanup(cancel) // Run must end for the bubble to end, even when the test fails early
	synctest.Wait()
}

// stop ends Run's context and checks that Run returned nil at once.
func (h *runHarness) stop() {
	h.t.Helper()
	h.cancel()
	synctest.Wait()
	select {
	case err := <-h.done:
		require.NoError(h.t, err)
	default:
		h.t.Fatal("Run did not return when its context ended")
	}
}

func (h *runHarness) track(kind event.Kind) {
	h.t.Helper()
	require.NoError(h.t, h.engine.Track(context.Background(), event.Event{UserID: "u", Kind: kind, CampaignID: "o"}))
}

// sleep lets d of the bubble's time pass (Run's timers fire on the way)
// and waits until Run sleeps again.
func (h *runHarness) sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// sentSince returns what was sent, each with its time after h.start.
func (h *runHarness) sentSince() map[string]time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	got := make(map[string]time.Duration)
	for _, s := range h.sent {
		got[s.campaign] = s.at.Sub(h.start)
	}
	return got
}

func TestRunSendsImmediateDeliveriesWhenWoken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRunHarness(t, nil)
		h.run()
		h.track(event.EmailOpened)
		synctest.Wait()
		require.Equal(t, map[string]time.Duration{"now": 0}, h.sentSince(), "sent without waiting")
		h.stop()
	})
}

// TestRunWakesOnlyWhenSomethingFallsDue checks that Run sends each
// delivery at its due time to the nanosecond, also when Track schedules
// one earlier than the one it waits for, and looks at the store at no
// other time than those, the Tracks' and once a minute while it waits
// (one timer for the earliest due time, no polling on a store that
// notifies once nothing is pending).
func TestRunWakesOnlyWhenSomethingFallsDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRunHarness(t, nil)
		h.run()
		h.track(event.EmailReceived) // "later": due in an hour
		synctest.Wait()
		h.track(event.EmailClicked) // "sooner": due in ten minutes, before "later"
		synctest.Wait()

		h.sleep(10*time.Minute - time.Nanosecond)
		require.Empty(t, h.sentSince(), "nothing sent early")
		h.sleep(time.Nanosecond)
		require.Equal(t, map[string]time.Duration{"sooner": 10 * time.Minute}, h.sentSince())
		h.sleep(50*time.Minute - time.Nanosecond)
		require.Len(t, h.sentSince(), 1, "nothing sent early")
		h.sleep(time.Nanosecond)
		require.Equal(t, map[string]time.Duration{"sooner": 10 * time.Minute, "later": time.Hour}, h.sentSince())
		h.sleep(24 * time.Hour) // nothing due: Run sleeps through
		h.stop()

		// It looked at the store at the due times, and once a minute while
		// it waited (runMaxSleep); not after the last send.
		for _, at := range h.store.claimTimes() {
			d := at.Sub(h.start)
			require.True(t, d <= time.Hour && d%time.Minute == 0, "Run looked at the store at %v", d)
		}
	})
}

func TestRunRefusesASecondRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRunHarness(t, nil)
		h.run()
		require.ErrorIs(t, h.engine.Run(context.Background()), ErrAlreadyRunning)
		h.stop()
	})
}

func TestRunLetsAnInFlightSendFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var decisions []rule.Decision
		h := newRunHarness(t, func(ctx context.Context, d Delivery) error {
			<-release
			return nil
		}, WithObserver(ObserverFunc(func(d rule.Decision) { decisions = append(decisions, d) })))
		h.run()
		h.track(event.EmailOpened)
		synctest.Wait() // the sender waits for release
		h.cancel()
		synctest.Wait()
		require.Empty(t, h.done, "Run returned during a send")
		close(release)
		synctest.Wait()
		require.NoError(t, <-h.done)
		require.Equal(t, rule.Delivered, decisions[len(decisions)-1].Kind, "the outcome of the send is recorded")
		st, err := h.engine.Stats(context.Background())
		require.NoError(t, err)
		require.Zero(t, st.Pending)
	})
}

// TestRunRetriesStoreErrorsSoonWithGrowingWaits checks that after a store
// error Run tries again within 100 ms, waits twice as long after each
// further error up to 2 s (less up to a fifth, for jitter), and starts
// over at 100 ms once a call has succeeded.
func TestRunRetriesStoreErrorsSoonWithGrowingWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRunHarness(t, nil)
		// Claims 0 to 6 fail, 7 succeeds; after the Track below, 8 fails
		// and 9 succeeds.
		h.store.fail = func(call int) bool { return call <= 6 || call == 8 }
		h.run()
		h.sleep(time.Minute)
		require.Len(t, h.store.claimTimes(), 8, "Run sleeps once the store answers")
		h.track(event.EmailOpened)
		synctest.Wait()
		h.sleep(time.Minute)
		h.stop()

		calls := h.store.claimTimes()
		require.Len(t, calls, 10)
		ms := time.Millisecond
		for i, max := range []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 2000 * ms, 2000 * ms} {
			wait := calls[i+1].Sub(calls[i])
			require.True(t, wait >= max*4/5 && wait <= max, "wait %d after a store error: %v, want %v less up to a fifth", i+1, wait, max)
		}
		wait := calls[9].Sub(calls[8])
		require.True(t, wait >= 80*ms && wait <= 100*ms, "after a success, the first wait starts over: %v", wait)
		require.Equal(t, calls[9].Sub(h.start), h.sentSince()["now"], "sent by the Claim that succeeded")
	})
}

// TestTrackWakesOnlyARunningRun checks that a scheduling Track signals Run
// only while Run is running (before it starts and after it stops there is
// nobody to wake), and that what was scheduled before Run started is sent
// by it all the same.
func TestTrackWakesOnlyARunningRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRunHarness(t, nil)
		h.track(event.EmailOpened)
		require.Empty(t, h.engine.wake, "signalled with no Run")
		h.run()
		require.Equal(t, map[string]time.Duration{"now": 0}, h.sentSince())
		h.stop()
		for len(h.engine.wake) > 0 { // a wake-up Run had no time to take
			<-h.engine.wake
		}
		h.track(event.EmailClicked) // schedules "sooner"
		require.Empty(t, h.engine.wake, "signalled after Run stopped")
	})
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
			clk.Set(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
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

// steppedClock is the bubble's clock with its wall time moved by step: a
// machine whose clock an NTP correction stepped, or that was suspended.
type steppedClock struct {
	clock.Clock
	step atomic.Int64
}

func (c *steppedClock) Now() time.Time                  { return c.Clock.Now().Add(time.Duration(c.step.Load())) }
func (c *steppedClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *steppedClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }

// The wall clock steps 40 minutes forward while Run waits for a delivery
// due in an hour: Run's timer, on the monotonic clock, would fire 40
// minutes late; Run sends it within a minute of its due time.
func TestRunNoticesAWallClockStepWithinAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := &steppedClock{Clock: clock.New()}
		h := newRunHarness(t, nil, WithClock(clk))
		h.run()
		h.track(event.EmailReceived) // "later": due in an hour of the engine's clock
		synctest.Wait()
		h.sleep(10 * time.Minute)
		clk.step.Store(int64(40 * time.Minute)) // due 10 minutes from now
		h.sleep(11 * time.Minute)
		h.stop()
		sent := h.sentSince()
		require.Contains(t, sent, "later", "not sent a minute after its due time")
		require.LessOrEqual(t, sent["later"], 21*time.Minute)
		require.GreaterOrEqual(t, sent["later"], 20*time.Minute, "sent before its due time")
	})
}

// With nothing pending, Run looks at the store every poll interval, even
// one longer than the minute it waits at most for a pending delivery.
func TestRunPollsAtItsIntervalWhileNothingIsPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRunHarness(t, nil, WithPollInterval(5*time.Minute))
		h.run()
		h.sleep(30 * time.Minute)
		h.stop()
		claims := h.store.claimTimes()
		require.Len(t, claims, 7, "claims at 0, 5, … 30 minutes")
		for i, at := range claims {
			require.Equal(t, time.Duration(i)*5*time.Minute, at.Sub(h.start))
		}
	})
}
