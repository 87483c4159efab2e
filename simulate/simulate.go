// Package simulate runs campaigns on a simulated clock: a mock clock, a
// memory store, a recording sender and an engine, with time moved by hand.
// Moving time stops at every due time on the way and sends what is due, so
// receipt times are those a running engine would record.
//
// It is what the runnable examples, the simulate command
// (examples/simulate) and the test harness connectortest are built on, and
// it is the engine's dry run: replay an event log against campaign
// definitions and see every decision the engine would take.
package simulate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// ErrTimeTravel reports an attempt to move the simulated clock backwards.
var ErrTimeTravel = errors.New("simulate: time cannot go back")

// ErrBusy reports a Tick or a move of the simulated clock while a move
// is under way, or a move while a Tick is: called by the Sender during a
// send, or from another goroutine. Moving the clock while a send is in
// flight would run out its lease (a minute of simulated time by default),
// after which another engine on the store would send the delivery a
// second time, which a running engine whose store and clock keep up
// never lets happen.
var ErrBusy = errors.New("simulate: a Tick or a move of the clock is under way")

// minClock and maxClock bound the simulated clock: the memory store keeps
// its clock in Unix nanoseconds (the years 1678 to 2262) and fails with
// store.ErrTimeRange outside them.
var minClock, maxClock = time.Unix(0, math.MinInt64).UTC(), time.Unix(0, math.MaxInt64).UTC()

// ClockEnd returns the last instant the simulated clock can reach,
// 2262-04-11T23:47:16.854775807Z, where the memory store's clock (in Unix
// nanoseconds) ends: no move goes past it, and a delivery due after it
// waits for ever.
func ClockEnd() time.Time { return maxClock }

// inClock reports whether the simulated clock can be at t.
func inClock(t time.Time) bool { return !t.Before(minClock) && !t.After(maxClock) }

// Simulator is an engine on a mock clock. Its fields are ready to use
// directly; the methods cover the common moves.
type Simulator struct {
	Clock  *clock.Mock
	Store  *store.Memory
	Engine *connector.Engine
	Sender *Recorder

	mu        sync.Mutex
	decisions []rule.Decision
	// moving is held by AdvanceTo, and shared by Ticks, for their
	// duration: TryLock and TryRLock refuse, with ErrBusy, a move during
	// a Tick or a move, and a Tick during a move.
	moving sync.RWMutex
	// unread is set by New before it reads the engine's clock, and
	// cleared by the engine reading Clock (through engineClock): still
	// set, the engine reads another clock.
	unread atomic.Bool
}

// engineClock is the simulator's Clock as its engine is given it. Reading
// it clears unread, by which New tells that the engine reads Clock and
// not another clock an option put in its place, set to the same time.
type engineClock struct {
	*clock.Mock
	unread *atomic.Bool
}

// Now returns the mock's time.
func (c engineClock) Now() time.Time {
	if c.unread.Load() {
		c.unread.Store(false)
	}
	return c.Mock.Now()
}

// New returns a simulator whose clock is at start. opts are passed to
// connector.New after the simulator's own (the mock clock, an observer
// that records decisions, and sends one at a time so that timelines are
// reproducible), so they can add observers or change anything but the
// clock.
//
// The simulator's Clock is the engine's: an option that replaces it
// (connector.WithClock) fails with [connector.ErrInvalidOption].
//
// start is required, and must lie where the memory store keeps its clock
// (1678 to 2262): outside, New fails with an error wrapping
// [store.ErrTimeRange], as [Replay] does, rather than every Tick failing.
//
// A send the [Recorder] refuses is retried per the engine's retry policy,
// whose default ([connector.DefaultRetryPolicy]) shortens each wait by a
// random share: the retries' times then differ from run to run. For a
// timeline with failures that is the same on every run, pass
// [connector.WithRetryPolicy] with a zero Jitter, as connectortest does.
func New(start time.Time, opts ...connector.Option) (*Simulator, error) {
	switch {
	case start.IsZero():
		return nil, errors.New("simulate: start is required (got the zero time.Time)")
	case !inClock(start):
		return nil, fmt.Errorf("simulate: start %s: %w", start.Format(time.RFC3339Nano), store.ErrTimeRange)
	}
	s := &Simulator{Clock: clock.NewMock(), Store: store.NewMemory()}
	s.Clock.Set(start)
	s.Sender = &Recorder{clock: s.Clock}
	base := []connector.Option{
		connector.WithClock(engineClock{s.Clock, &s.unread}),
		connector.WithObserver(connector.ObserverFunc(s.record)),
		connector.WithSendConcurrency(1), // strictly in due order: reproducible timelines
	}
	e, err := connector.New(s.Store, s.Sender, append(base, opts...)...)
	if err != nil {
		return nil, err
	}
	s.unread.Store(true)
	if now := e.Now(); s.unread.Load() {
		// An option replaced the mock: Advance would move a clock the
		// engine does not read, even if both read start now.
		if now.Equal(start) {
			return nil, fmt.Errorf("%w: simulate: the engine reads another clock than the simulator's, "+
				"though both read %s: an option (connector.WithClock) replaced the simulator's clock, which is the one Advance moves",
				connector.ErrInvalidOption, start.Format(time.RFC3339Nano))
		}
		return nil, fmt.Errorf("%w: simulate: the engine's clock reads %s, not the simulator's %s: "+
			"an option (connector.WithClock) replaced the simulator's clock, which is the one Advance moves",
			connector.ErrInvalidOption, now.Format(time.RFC3339Nano), start.Format(time.RFC3339Nano))
	}
	s.Engine = e
	return s, nil
}

func (s *Simulator) record(d rule.Decision) {
	s.mu.Lock()
	s.decisions = append(s.decisions, d)
	s.mu.Unlock()
}

// Now returns the simulated clock's time.
func (s *Simulator) Now() time.Time { return s.Clock.Now() }

// Apply applies campaigns as code, as [connector.Engine.Apply] does at a
// host's start: each saved if new or changed and published, follow-ups
// before the campaigns that trigger them.
func (s *Simulator) Apply(campaigns ...rule.Campaign) error {
	return s.Engine.Apply(context.Background(), campaigns)
}

// Save saves campaigns in order, stopping at the first error.
func (s *Simulator) Save(campaigns ...rule.Campaign) error {
	for _, c := range campaigns {
		if err := s.Engine.Save(context.Background(), c); err != nil {
			return err
		}
	}
	return nil
}

// Publish publishes campaigns in the order given, stopping at the first error.
func (s *Simulator) Publish(ids ...string) error {
	for _, id := range ids {
		if err := s.Engine.Publish(context.Background(), id); err != nil {
			return err
		}
	}
	return nil
}

// Track tracks events in order, stopping at the first error. An event with
// a zero Time happens now on the simulated clock.
func (s *Simulator) Track(events ...event.Event) error {
	for _, ev := range events {
		if err := s.Engine.Track(context.Background(), ev); err != nil {
			return err
		}
	}
	return nil
}

// Tick sends what is due now and returns how many deliveries were accepted.
// Ticks may run at once, but not during a move of the clock: that fails
// with [ErrBusy].
func (s *Simulator) Tick() (int, error) {
	if !s.moving.TryRLock() {
		return 0, fmt.Errorf("%w: Tick during an Advance or AdvanceTo (called by the Sender, or from another goroutine)", ErrBusy)
	}
	defer s.moving.RUnlock()
	return s.Engine.Tick(context.Background())
}

// Advance moves the clock forward by d; see [Simulator.AdvanceTo].
// A negative d fails with [ErrTimeTravel], and the clock does not move.
func (s *Simulator) Advance(d time.Duration) (int, error) {
	if d < 0 {
		return 0, fmt.Errorf("%w: Advance(%v)", ErrTimeTravel, d)
	}
	return s.AdvanceTo(s.Now().Add(d))
}

// AdvanceTo moves the clock forward to target and returns how many
// deliveries were accepted on the way. The clock stops at each due time up
// to target and ticks there, so deliveries are sent (and received) at their
// due times, those of a chain of hold-outs that trigger each other at once
// included. Only follow-ups that do so in a cycle, which would keep the
// clock at one instant for ever, see it step a millisecond after as many
// ticks there as the engine has campaigns (8 at least).
//
// A target before the clock fails with [ErrTimeTravel], and one outside the
// memory store's range (1678 to 2262) with [store.ErrTimeRange], wrapped:
// both are checked before anything happens, so the failed call leaves the
// simulator as it was. An error of the engine or the store on the way
// stops the clock where it is.
//
// A move while another, or a [Simulator.Tick], is under way (called by
// the Sender, or from another goroutine) fails with [ErrBusy] and leaves
// the clock where it is: moving it under a send in flight would run out
// the send's lease, and another engine on the store would send the
// delivery again.
func (s *Simulator) AdvanceTo(target time.Time) (int, error) {
	if err := s.startMove("AdvanceTo", target); err != nil {
		return 0, err
	}
	defer s.moving.Unlock()
	return s.advanceTo(target)
}

// MoveTo moves the clock forward to target as [Simulator.AdvanceTo] does,
// sending what falls due on the way, except what falls due at target
// itself: that is left waiting, for the next Tick or move (Advance(0)
// sends it as AdvanceTo does; a Tick takes one step of a chain of
// hold-outs that trigger each other at once). A test can
// then track an event at exactly a delivery's due time, while the
// delivery still waits, as a running engine sees an event that comes in
// the instant a delivery falls due, before its next tick. MoveTo to the
// clock's own time does nothing.
//
// Its errors are those of AdvanceTo: a target before the clock or outside
// the memory store's range, a move while another or a Tick is under way
// ([ErrBusy]), and an error of the engine or the store on the way.
func (s *Simulator) MoveTo(target time.Time) (int, error) {
	if err := s.startMove("MoveTo", target); err != nil {
		return 0, err
	}
	defer s.moving.Unlock()
	if !target.After(s.Now()) {
		return 0, nil
	}
	// The last instant before target: the clock's resolution is the
	// nanosecond, so what is due before target is due by then.
	sent, err := s.advanceTo(target.Add(-time.Nanosecond))
	if err != nil {
		return sent, err
	}
	s.Clock.Set(target)
	return sent, nil
}

// startMove takes the move lock for op, a move to target, and checks
// target: it refuses a move while another or a Tick is under way
// ([ErrBusy]), and a target before the clock or outside the memory
// store's range. On nil, the caller unlocks s.moving when done.
func (s *Simulator) startMove(op string, target time.Time) error {
	if !s.moving.TryLock() {
		return fmt.Errorf("%w: %s(%s) during another Tick, Advance or AdvanceTo (called by the Sender, or from another goroutine)",
			ErrBusy, op, target.Format(time.RFC3339))
	}
	var err error
	switch {
	case target.Before(s.Now()):
		err = fmt.Errorf("%w: %s(%s) with the clock at %s", ErrTimeTravel, op,
			target.Format(time.RFC3339), s.Now().Format(time.RFC3339))
	case !inClock(target):
		err = fmt.Errorf("simulate: %s(%s): %w", op, target.Format(time.RFC3339Nano), store.ErrTimeRange)
	}
	if err != nil {
		s.moving.Unlock()
	}
	return err
}

// advanceTo is AdvanceTo once the move is allowed and target checked.
func (s *Simulator) advanceTo(target time.Time) (int, error) {
	ctx := context.Background()
	sent, again, bound := 0, 0, maxTicksAtOnce
	for {
		before := s.decisionCount()
		n, err := s.Engine.Tick(ctx)
		sent += n
		if err != nil {
			return sent, err
		}
		next, ok, err := s.Store.NextDue(ctx, s.Engine.Namespace())
		if err != nil {
			return sent, err
		}
		switch {
		case ok && !next.After(s.Now()):
			// Still due now. A tick that decided something (a hold-out
			// whose control_group_enrolled triggers an immediate
			// follow-up) may have scheduled it: tick again at this
			// instant, as a running engine woken by it would. A tick that
			// decided nothing left it due but not sendable now (released
			// for later): step over it rather than spin, as after a chain
			// of more than maxTicksAtOnce ticks at one instant.
			decided := n > 0 || s.decisionCount() > before
			if decided && again == maxTicksAtOnce {
				// A chain this deep: as deep as it has campaigns, unless
				// it is a cycle.
				recs, err := s.Engine.Campaigns(ctx)
				if err != nil {
					return sent, err
				}
				bound = max(maxTicksAtOnce, len(recs))
			}
			if decided && again < bound {
				again++
				continue
			}
			step := s.Now().Add(time.Millisecond)
			if step.After(target) {
				step = target
			}
			if !step.After(s.Now()) {
				return sent, nil
			}
			s.Clock.Set(step)
		case ok && !next.After(target):
			s.Clock.Set(next)
		case target.After(s.Now()):
			s.Clock.Set(target)
		default:
			return sent, nil
		}
		again, bound = 0, maxTicksAtOnce
	}
}

// maxTicksAtOnce bounds the ticks AdvanceTo makes at one instant while
// each decides something and leaves a delivery due, unless the engine has
// more campaigns: then their number does. Each tick takes a chain of
// hold-outs, each triggering the next follow-up at once, one link further,
// and a chain without a cycle has at most one link per campaign, so it
// ends at its instant; follow-ups that hold users out and trigger each
// other in a cycle would go on for ever (as they would in a running
// engine; Check warns of the cycle), each tick adding to the timeline:
// past the bound, the clock steps a millisecond.
const maxTicksAtOnce = 8

// decisionCount returns how many decisions were observed so far.
func (s *Simulator) decisionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.decisions)
}

// Sent returns the deliveries the sender accepted, in order.
func (s *Simulator) Sent() []connector.Delivery { return s.Sender.Accepted() }

// Decisions returns every decision observed so far, in order.
func (s *Simulator) Decisions() []rule.Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]rule.Decision(nil), s.decisions...)
}

var bgctx = context.Background()
