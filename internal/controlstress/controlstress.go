// Package controlstress attacks the delivery controls of engines sharing a
// durable store: two engines (replicas, each on a store handle of its own)
// tick at once on a shared mock clock, under frequency caps, rate limits,
// quiet hours, a send window and a control group, with slow senders
// (blocking until the test releases them), failing senders (an error, then
// success), leases that run out during a send (the clock jumps past the
// lease while a send blocks), a restart of one engine, a stop of a
// campaign with deliveries deferred and its resume by the other engine,
// and conversions: the host reports receipts of a follow-up and purchases
// (some twice, some from both engines at once) to either engine. It then
// checks, from what the senders saw, that no control was broken, that no
// delivery of the stopped activation went out after the stop, that
// conversions were counted once per window, and that the decisions, the
// decision log and the tallies agree with the sends.
//
// The test paces the clock: it moves only once every engine has finished
// a Tick since the last move or waits in a send. So a delivery's checks
// and its send happen at the same time on the clock, and a control broken
// is the engine's doing, not the test's. Engine 0 has several send slots;
// its sends never block, since a slot waiting for the clock could not be
// told from one still at work: its Ticks always end before the clock
// moves. Engine 1 has one slot, and its slow sends wait for the clock.
package controlstress

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Opener opens a new handle on the test's store, shared by every handle
// it opens (a replica's), closed when the test ends.
type Opener func(t *testing.T) store.Store

// The scenario's times, UTC, on one day.
var (
	start     = time.Date(2026, 3, 2, 20, 30, 0, 0, time.UTC)
	lastEvent = start.Add(50 * time.Minute)
	end       = start.Add(2 * time.Hour)
	drainEnd  = end.Add(2 * time.Hour)
)

const (
	step        = 3 * time.Second
	lease       = time.Minute
	sendTimeout = 50 * time.Second
	users       = 16 // the users who open the original
	lateUsers   = 4  // the users who come back only after the resume
	slots0      = 3  // engine 0's send slots
)

// The controls under attack.
var (
	quiet   = connector.QuietHours{From: rule.At(21, 10), To: rule.At(21, 25), Defer: true}
	window  = rule.SendWindow{From: rule.At(20, 50), To: rule.At(21, 40), NextAvailable: true}
	rolling = connector.FrequencyCap{Max: 2, Window: 30 * time.Minute}
	pushDay = connector.FrequencyCap{Max: 1, Channel: event.Push, Days: 1}
)

// campaigns returns the original and its follow-ups.
func campaigns() []rule.Campaign {
	trig := []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}
	return []rule.Campaign{
		{ID: "o"},
		{ID: "fa", Triggers: trig, Channel: event.Email, Delay: rule.After(5 * time.Minute), RateLimit: 2},
		{ID: "fb", Triggers: trig, Channel: event.Push, Delay: rule.After(10 * time.Minute), SendWindow: &window},
		{ID: "fc", Triggers: trig, Channel: event.Email, Delay: rule.After(2 * time.Minute), RateLimit: 1, IgnoreFrequencyCaps: true},
		{ID: "fd", Triggers: trig, Channel: event.SMS, Delay: rule.After(7 * time.Minute), ControlPercent: 40,
			Conversions: []rule.Conversion{conversion}},
		{ID: "fe", Triggers: append(trig, rule.Trigger{Kind: event.CustomEvent, Name: cameBack}), Channel: event.Push,
			Delay: rule.After(15 * time.Minute), RateLimit: 1},
	}
}

// stopped is the follow-up the scenario stops once some of its deliveries
// were deferred, and resumes a few minutes later.
const stopped = "fe"

// cameBack is the custom event that also triggers the stopped follow-up:
// the users who send it after the resume have had nothing else, so that
// the new activation's deliveries are not all capped.
const cameBack = "came_back"

// call is one call of a sender.
type call struct {
	engine int
	seq    int // order of the calls and of the stop
	at     time.Time
	d      connector.Delivery
	err    error
}

// world is one run: the clock, the engines and what they did.
type world struct {
	t    *testing.T
	clk  *clock.Mock
	open Opener
	rng  *rand.Rand
	seed uint64

	mu       sync.Mutex
	cond     sync.Cond
	step     int64
	runners  []*runner
	blocked  []*blockedSend
	calls    []call
	seq      int
	decs     []rule.Decision
	stopSeq  int // the seq when the stop returned (0: not stopped)
	restarts int
	jumps    int

	resume // the resume of the stopped follow-up
	convs  // the conversions' receipts and purchases
}

// runner is an engine ticking in a loop, once per move of the clock.
type runner struct {
	idx    int
	slots  int // its send concurrency
	e      *connector.Engine
	ctx    context.Context
	cancel context.CancelFunc
	seen   int64 // the clock move its last Tick started after
	phase  phase
}

type phase uint8

const (
	working phase = iota
	idle          // its Tick returned, and it waits for the clock
	inSend        // blocked in a slow send
	exited        // its loop ended (a restart)
)

// blockedSend is a slow send waiting for the clock to reach until.
type blockedSend struct {
	r     *runner
	until time.Time
	ch    chan struct{}
}

// sender is the sender of one runner.
type sender struct {
	w *world
	r *runner
}

// Send is slow for some deliveries (it blocks until the test releases it,
// once the clock has moved by its latency; only in an engine with one
// slot) and fails the first attempt of others: what it does is drawn from
// the delivery's ID and attempt. A send of the conversion follow-up the
// sender accepts has its receipt reported by the host.
func (s sender) Send(_ context.Context, d connector.Delivery) error {
	w := s.w
	h := hash(w.seed, d.ID, d.Attempt)
	var err error
	if d.Attempt == 1 && h%4 == 0 {
		err = errors.New("temporary failure")
	}
	w.mu.Lock()
	w.seq++
	w.calls = append(w.calls, call{engine: s.r.idx, seq: w.seq, at: w.clk.Now(), d: d, err: err})
	if err == nil && d.CampaignID == converting {
		w.planReceipts(d.UserID, d.ID+"-"+fmt.Sprint(d.Attempt), w.clk.Now(), h)
	}
	var b *blockedSend
	if h%3 == 0 && s.r.slots == 1 {
		latency := time.Duration(5+(h>>8)%36) * time.Second
		b = &blockedSend{r: s.r, until: w.clk.Now().Add(latency), ch: make(chan struct{})}
		w.blocked = append(w.blocked, b)
		s.r.phase = inSend
		w.cond.Broadcast()
	}
	w.mu.Unlock()
	if b != nil {
		<-b.ch
	}
	return err
}

func hash(seed uint64, id string, attempt int) uint64 {
	h := seed ^ 14695981039346656037
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= uint64(attempt)
	h *= 1099511628211
	return h ^ h>>29
}

// Run runs the scenario with seed and checks what it did.
func Run(t *testing.T, open Opener, seed uint64) {
	w := &world{t: t, clk: clock.NewMock(), open: open, rng: rand.New(rand.NewPCG(seed, 7)), seed: seed}
	w.cond.L = &w.mu
	w.clk.Set(start)
	ctx := context.Background()
	w.startRunner(0)
	e := w.runners[0].e
	for _, c := range campaigns() {
		must(t, e.Save(ctx, c))
	}
	for _, c := range campaigns()[1:] {
		must(t, e.Publish(ctx, c.ID))
	}
	must(t, e.Publish(ctx, "o"))
	// Engine 1 starts once the campaigns are active: on a store handle of
	// its own, it could otherwise take up to a second of real time (hours
	// of the scenario) to see them, and ignore the events meanwhile, which
	// the conversion count would have to guess at.
	w.startRunner(1)

	// Each user opens the original one to three times before lastEvent.
	type track struct {
		at time.Time
		ev event.Event
	}
	var tracks []track
	for u := range users {
		for k := range 1 + w.rng.IntN(3) {
			at := start.Add(time.Duration(w.rng.Int64N(int64(lastEvent.Sub(start)))))
			tracks = append(tracks, track{at, event.Event{ID: fmt.Sprintf("open-%d-%d", u, k), UserID: fmt.Sprint("u", u),
				Kind: event.PushOpened, CampaignID: "o", Time: at}})
		}
	}
	restartAt := start.Add(time.Duration(20+w.rng.IntN(60)) * time.Minute)
	stopAt := start.Add(time.Duration(40+w.rng.IntN(40)) * time.Minute)
	w.resumeAt = stopAt.Add(time.Duration(2+w.rng.IntN(8)) * time.Minute)
	w.planPurchases()
	// Some users, and the late ones, come back after the resume: to
	// engine 1, which resumes the follow-up and sees its new activation
	// at once (engine 0 may take up to a second to see it, and would
	// ignore them meanwhile).
	var comebacks []track
	for u := range users + lateUsers {
		if u < users && w.rng.IntN(3) > 0 {
			continue
		}
		at := w.resumeAt.Add(step + time.Duration(w.rng.Int64N(int64(10*time.Minute))))
		comebacks = append(comebacks, track{at, event.Event{ID: fmt.Sprintf("back-%d", u), UserID: fmt.Sprint("u", u),
			Kind: event.CustomEvent, Name: cameBack, Time: at}})
	}
	restarting := false
	for w.clk.Now().Before(drainEnd) {
		w.settle()
		now := w.clk.Now()
		for i := 0; i < len(tracks); i++ {
			if !tracks[i].at.After(now) {
				ev := tracks[i].ev
				ev.Time = now
				must(t, w.runners[w.rng.IntN(2)].e.Track(ctx, ev))
				tracks = append(tracks[:i], tracks[i+1:]...)
				i--
			}
		}
		w.trackHostEvents(ctx)
		if w.stopSeq == 0 && !now.Before(stopAt) {
			must(t, w.runners[0].e.Stop(ctx, stopped))
			w.mu.Lock()
			w.seq++
			w.stopSeq = w.seq
			w.mu.Unlock()
		}
		if w.stopSeq != 0 && w.stage == beforeResume && !now.Before(w.resumeAt) {
			w.resumeStopped(ctx)
		}
		if w.stage == resumed {
			for i := 0; i < len(comebacks); i++ {
				if !comebacks[i].at.After(now) {
					ev := comebacks[i].ev
					ev.Time = now
					must(t, w.runners[1].e.Track(ctx, ev))
					comebacks = append(comebacks[:i], comebacks[i+1:]...)
					i--
				}
			}
		}
		if !restarting && !now.Before(restartAt) && w.restarts == 0 {
			restarting = true
			w.runners[1].cancel()
			w.mu.Lock()
			w.cond.Broadcast()
			w.mu.Unlock()
		}
		if restarting && w.phaseOf(1) == exited {
			// The engine stopped flushes what it counted, as a host
			// shutting down does before it closes the store.
			must(w.t, w.runners[1].e.FlushTallies(context.Background()))
			restarting = false
			w.restarts++
			w.startRunner(1)
			w.settle() // its first Tick runs at this time, before the clock moves
		}
		if !now.Before(end) && len(tracks) == 0 && len(comebacks) == 0 && w.hostEventsLeft() == 0 && !restarting {
			st, err := e.Stats(ctx)
			must(t, err)
			if st.Pending == 0 && w.noneBlocked() {
				break
			}
		}
		w.move()
	}
	for _, r := range w.runners {
		r.cancel()
	}
	w.mu.Lock()
	w.cond.Broadcast()
	w.mu.Unlock()
	for len(w.blockedNow()) > 0 { // the last sends finish
		w.clk.Add(step)
		w.release()
	}
	w.waitExited()
	w.check()
}

// startRunner starts engine i (again, after a restart) on a store handle
// of its own.
func (w *world) startRunner(i int) {
	s := w.open(w.t)
	r := &runner{idx: i, seen: -1, slots: 1}
	if i == 0 {
		r.slots = slots0
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	e, err := connector.New(s, sender{w: w, r: r},
		connector.WithClock(w.clk), connector.WithLease(lease), connector.WithSendTimeout(sendTimeout),
		connector.WithSendConcurrency(r.slots), connector.WithQuietHours(quiet),
		connector.WithFrequencyCaps(rolling, pushDay), connector.WithMaxDeferral(2*time.Hour),
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: 10 * time.Second, Max: time.Minute}),
		connector.WithDecisionLog(1000, 48*time.Hour),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			w.mu.Lock()
			w.decs = append(w.decs, d)
			w.observe(d)
			w.mu.Unlock()
		})))
	must(w.t, err)
	r.e = e
	w.mu.Lock()
	if i < len(w.runners) {
		w.runners[i] = r
	} else {
		w.runners = append(w.runners, r)
	}
	w.mu.Unlock()
	go w.loop(r)
}

// loop ticks r once after each move of the clock, until r's context ends.
func (w *world) loop(r *runner) {
	for {
		w.mu.Lock()
		for r.seen == w.step && r.ctx.Err() == nil {
			w.cond.Wait()
		}
		if r.ctx.Err() != nil {
			r.phase = exited
			w.cond.Broadcast()
			w.mu.Unlock()
			return
		}
		r.seen, r.phase = w.step, working
		w.mu.Unlock()
		if _, err := r.e.Tick(r.ctx); err != nil && r.ctx.Err() == nil {
			w.t.Errorf("engine %d: tick: %v", r.idx, err)
		}
		w.mu.Lock()
		r.phase = idle
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// settle waits until every engine has ticked since the last move and
// returned, or waits in a slow send.
func (w *world) settle() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		done := true
		for _, r := range w.runners {
			if !(r.phase == exited || r.phase == inSend || r.phase == idle && r.seen == w.step) {
				done = false
			}
		}
		if done {
			return
		}
		w.cond.Wait()
	}
}

// move moves the clock by a step, or now and then past the lease while a
// send blocks, and releases the slow sends whose time has come.
func (w *world) move() {
	d := step
	if w.jumps < 3 && !w.noneBlocked() && w.rng.IntN(40) == 0 {
		d = lease + 5*time.Second
		w.jumps++
	}
	w.clk.Add(d)
	w.release()
	w.mu.Lock()
	w.step++
	w.cond.Broadcast()
	w.mu.Unlock()
}

// release lets the slow sends whose time has come return: their engines
// work again before the clock moves on.
func (w *world) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.clk.Now()
	kept := w.blocked[:0]
	for _, b := range w.blocked {
		if b.until.After(now) {
			kept = append(kept, b)
			continue
		}
		if b.r.phase == inSend {
			b.r.phase = working
		}
		close(b.ch)
	}
	w.blocked = kept
}

func (w *world) noneBlocked() bool { return len(w.blockedNow()) == 0 }

func (w *world) blockedNow() []*blockedSend {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.blocked
}

func (w *world) phaseOf(i int) phase {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.runners[i].phase
}

func (w *world) waitExited() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		all := true
		for _, r := range w.runners {
			all = all && r.phase == exited
		}
		if all {
			return
		}
		w.cond.Wait()
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
