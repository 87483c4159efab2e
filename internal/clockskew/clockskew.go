// Package clockskew runs two engines on one store, each on a mock clock of
// its own, the second ahead of the first by a skew, and measures what the
// skew does to the deliveries: sends made twice, sends before their due
// time, and frequency caps, rate limits, quiet hours and send windows
// broken, all judged by the first engine's clock (the true time of the
// experiment). It also counts deliveries lost or left pending, and the
// errors the engines log.
//
// Both engines Run with the default lease (a minute) and no send timeout
// (the default). Their senders block until the test releases them, once
// the first engine's clock has moved by the send's latency. The test runs
// in a synctest bubble and moves the clocks by a fixed step: the first
// engine's clock, then the second's, each time waiting until every
// goroutine of the bubble is blocked, then it releases the sends whose
// time has come. So the experiment is deterministic, and when the two
// engines act at the same true instant, the first engine goes first.
package clockskew

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Opener opens a handle on the experiment's store. Both engines use the
// one handle it returns; it is called in the synctest bubble and must be
// closed (t.Cleanup) before the bubble ends.
type Opener func(t *testing.T) store.Store

// start is the true time the experiments start at, UTC.
var start = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// step is how far the clocks move at a time.
const step = 250 * time.Millisecond

// Call is one call of a sender, its times on the first engine's clock.
type Call struct {
	Engine     int // 0: the engine behind, 1: the engine ahead
	ID         string
	CampaignID string
	UserID     string
	Channel    event.Channel
	DueAt      time.Time
	Start, End time.Time
	release    time.Time
	done       chan struct{}
}

// track is an event the host tracks, through engine via, at true time at.
type track struct {
	at  time.Duration // after start
	via int
	ev  event.Event
}

// scenario is what an experiment does.
type scenario struct {
	campaigns []rule.Campaign
	tracks    []track
	// options adds engine i's options to the common ones.
	options func(i int) []connector.Option
	// latency is how long a send of d takes, on the true clock.
	latency func(d connector.Delivery) time.Duration
	// runAt is when each engine starts to Run, after start.
	runAt [2]time.Duration
	// until is when the engines stop, after start; sends in progress
	// finish after it.
	until time.Duration
}

// world is one run of a scenario.
type world struct {
	t    *testing.T
	sc   scenario
	skew time.Duration
	clk  [2]*clock.Mock
	e    [2]*connector.Engine

	mu       sync.Mutex
	calls    []*Call
	blocked  []*Call
	decs     []rule.Decision
	errorLog []string
}

// sender is engine i's sender.
type sender struct {
	w *world
	i int
}

// Send records the call and blocks until the test releases it.
func (s sender) Send(_ context.Context, d connector.Delivery) error {
	w := s.w
	now := w.clk[0].Now()
	c := &Call{Engine: s.i, ID: d.ID, CampaignID: d.CampaignID, UserID: d.UserID, Channel: d.Channel, DueAt: d.DueAt,
		Start: now, End: now}
	w.mu.Lock()
	w.calls = append(w.calls, c)
	if l := w.sc.latency(d); l > 0 {
		c.release, c.done = now.Add(l), make(chan struct{})
		w.blocked = append(w.blocked, c)
	}
	w.mu.Unlock()
	if c.done != nil {
		<-c.done
	}
	return nil
}

// errorHandler keeps the messages the engines log at Error.
type errorHandler struct {
	w *world
	i int
}

func (h errorHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (h errorHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h errorHandler) WithGroup(string) slog.Handler                { return h }

func (h errorHandler) Handle(_ context.Context, r slog.Record) error {
	msg := fmt.Sprintf("engine %d: %s", h.i, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		msg += fmt.Sprintf(" %s=%v", a.Key, a.Value)
		return true
	})
	h.w.mu.Lock()
	h.w.errorLog = append(h.w.errorLog, msg)
	h.w.mu.Unlock()
	return nil
}

// run runs sc with the second engine's clock skew ahead of the first's,
// on a store open returns, and returns the calls of the senders, the
// decisions, the errors logged and the deliveries left pending.
func run(t *testing.T, open Opener, sc scenario, skew time.Duration) (calls []Call, decs []rule.Decision, errs []string, pending int64) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		w := &world{t: t, sc: sc, skew: skew}
		s := open(t)
		for i := range w.clk {
			w.clk[i] = clock.NewMock()
			w.clk[i].Set(start.Add(time.Duration(i) * skew))
			opts := []connector.Option{
				connector.WithClock(w.clk[i]),
				connector.WithLogger(slog.New(errorHandler{w: w, i: i})),
				connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
					w.mu.Lock()
					w.decs = append(w.decs, d)
					w.mu.Unlock()
				})),
			}
			if sc.options != nil {
				opts = append(opts, sc.options(i)...)
			}
			e, err := connector.New(s, sender{w: w, i: i}, opts...)
			must(t, err)
			w.e[i] = e
		}
		ctx := context.Background()
		for _, c := range sc.campaigns {
			must(t, w.e[0].Save(ctx, c))
		}
		for _, c := range slices.Backward(sc.campaigns) { // the original, first, last
			must(t, w.e[0].Publish(ctx, c.ID))
		}
		runCtx, stop := context.WithCancel(ctx)
		var ran sync.WaitGroup
		started := [2]bool{}
		tracks := slices.Clone(sc.tracks)
		for elapsed := time.Duration(0); elapsed <= sc.until; elapsed += step {
			for i := range w.e {
				if !started[i] && elapsed >= sc.runAt[i] {
					started[i] = true
					ran.Go(func() {
						if err := w.e[i].Run(runCtx); err != nil {
							t.Errorf("engine %d: run: %v", i, err)
						}
					})
					synctest.Wait()
				}
			}
			for len(tracks) > 0 && tracks[0].at <= elapsed {
				ev := tracks[0].ev
				ev.Time = w.clk[0].Now() // the provider's stamp: the true time
				must(t, w.e[tracks[0].via].Track(ctx, ev))
				tracks = tracks[1:]
				synctest.Wait()
			}
			w.advance()
		}
		stop()
		for w.anyBlocked() { // the sends in progress finish
			w.advance()
		}
		ran.Wait()
		st, err := w.e[0].Stats(ctx)
		must(t, err)
		pending = st.Pending
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, c := range w.calls {
			calls = append(calls, *c)
		}
		decs, errs = w.decs, w.errorLog
	})
	return calls, decs, errs, pending
}

// advance moves the first engine's clock by a step, then the second's,
// and releases the sends whose time has come.
func (w *world) advance() {
	for _, c := range w.clk {
		c.Add(step)
		synctest.Wait()
	}
	now := w.clk[0].Now()
	w.mu.Lock()
	kept := w.blocked[:0]
	for _, c := range w.blocked {
		if c.release.After(now) {
			kept = append(kept, c)
			continue
		}
		c.End = now
		close(c.done)
	}
	w.blocked = kept
	w.mu.Unlock()
	synctest.Wait()
}

func (w *world) anyBlocked() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.blocked) > 0
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
