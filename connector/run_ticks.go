package connector

import (
	"context"
	"runtime"
	"sync"
)

// runTicks runs Run's Ticks, each on a goroutine of its own, and shares
// the engine's send slots between them. Run starts a Tick whenever
// something falls due and a slot is free, even while earlier Ticks still
// send: a send that takes long (a provider that hangs until the send
// timeout) holds its own slot, not the deliveries that fall due
// meanwhile. Together the Ticks hold at most the engine's send
// concurrency in slots, so that it bounds the sends in progress, and the
// sends a crash repeats, as it does for a Tick. With one slot, nothing
// runs beside a Tick that sends: deliveries go out one at a time, in due
// order, as with Ticks called in turn. A Tick that starts with fewer
// than all the slots claims no more deliveries at a time than it holds
// slots: the slots that come free later must find the rest due, not
// leased to a Tick whose slots are all taken.
type runTicks struct {
	mu    sync.Mutex
	free  int           // slots no Tick holds
	freed chan struct{} // a value when slots come free (capacity 1)

	done    chan tickEnd // the ends of the Ticks in flight
	running int          // Ticks in flight (Run's goroutine alone counts them)
	// failing counts the Ticks in flight in a row that ended with an
	// error having sent nothing (Run's goroutine alone counts them).
	failing int

	streak claimStreak // Ticks in a row whose claims came to nothing
}

// runTick is one of Run's Ticks: the slots it holds.
type runTick struct {
	r    *runTicks
	held int // slots held: all the free ones at the start, then its slots (r.mu)

	firstClaim chan struct{} // closed once its first claim is done, or it ended
	inFlight   bool          // set before firstClaim closes: it sends, and ends on r.done
	end        chan tickEnd  // its end, when not in flight (capacity 1)
}

// tickEnd is how a Tick of Run's ended: its error, or the panic that
// unwound it (a value recovered, or runtime.Goexit).
type tickEnd struct {
	err      error
	sent     int // deliveries it sent
	panicked bool
	value    any // what was recovered; nil with panicked: runtime.Goexit
}

func newRunTicks(slots int) *runTicks {
	return &runTicks{free: slots, freed: make(chan struct{}, 1), done: make(chan tickEnd, slots)}
}

// full reports whether every slot is held.
func (r *runTicks) full() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.free == 0
}

// give hands n slots back and says so on r.freed.
func (r *runTicks) give(n int) {
	if n <= 0 {
		return
	}
	r.mu.Lock()
	r.free += n
	r.mu.Unlock()
	select {
	case r.freed <- struct{}{}:
	default:
	}
}

// start starts a Tick with every free slot, on a goroutine of its own, and
// returns once it has claimed its first batch, reporting whether it
// claimed anything. A Tick that sends goes on in flight, holding a slot
// per delivery it sends at once, and its end comes on r.done; one that
// claimed nothing, or failed before it could send, has ended, and start
// returns its error (and repeats its panic on Run's goroutine).
func (r *runTicks) start(ctx context.Context, e *Engine) (claimed bool, err error) {
	r.mu.Lock()
	rt := &runTick{r: r, held: r.free, firstClaim: make(chan struct{}), end: make(chan tickEnd, 1)}
	r.free = 0
	r.mu.Unlock()
	go rt.run(ctx, e)
	<-rt.firstClaim
	if rt.inFlight {
		r.running++
		return true, nil
	}
	return false, r.ended(<-rt.end)
}

// run runs the Tick and reports how it ended, however it ended.
func (rt *runTick) run(ctx context.Context, e *Engine) {
	returned := false
	var end tickEnd
	defer func() {
		if !returned {
			end.panicked, end.value = true, recover()
		}
		rt.claimed(0) // ended before its first claim: it sent nothing
		rt.r.mu.Lock()
		held := rt.held // after a panic, the slots it did not give back
		rt.held = 0
		rt.r.mu.Unlock()
		rt.r.give(held)
		if rt.inFlight {
			rt.r.done <- end
		} else {
			rt.end <- end
		}
	}()
	end.sent, end.err = e.tick(ctx, rt)
	returned = true
}

// claimed gives back the slots the Tick holds past the n it starts after
// its first claim, and lets Run go on. It does nothing on a nil
// runTick (a Tick of the host's), nor after its first call.
func (rt *runTick) claimed(n int) {
	if rt == nil {
		return
	}
	select {
	case <-rt.firstClaim:
		return
	default:
	}
	rt.r.mu.Lock()
	extra := rt.held - n
	rt.held = n
	rt.r.mu.Unlock()
	rt.r.give(extra)
	rt.inFlight = n > 0
	close(rt.firstClaim)
}

// slotEnded gives back the slot of a send slot that has nothing more to
// send. It does nothing on a nil runTick.
func (rt *runTick) slotEnded() {
	if rt == nil {
		return
	}
	rt.r.mu.Lock()
	rt.held--
	rt.r.mu.Unlock()
	rt.r.give(1)
}

// ended reads end, a Tick's end received by Run: its error, or its panic,
// which it repeats on Run's goroutine.
func (r *runTicks) ended(end tickEnd) error {
	unwind(end)
	return end.err
}

// settled reads the ends of the Ticks that ended in flight, without
// waiting, and returns the first error among them: Run must pace itself
// after it before it starts another Tick, as after a store error of its
// own (a Tick that claims and then fails its checks gives its deliveries
// back due at once, and Run would start the next at once). Ends after it
// wait for the next call.
func (r *runTicks) settled() error {
	for {
		select {
		case end := <-r.done:
			if err := r.landed(end); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// unwind repeats the panic, or runtime.Goexit, that end tells of on the
// calling goroutine; it returns when end tells of none.
func unwind(end tickEnd) {
	if end.panicked {
		if end.value == nil {
			runtime.Goexit()
		}
		panic(end.value)
	}
}

// landed reads the end of a Tick in flight, received from r.done, as
// ended does.
func (r *runTicks) landed(end tickEnd) error {
	r.running--
	err := r.ended(end)
	if err != nil && end.sent == 0 {
		r.failing++
	} else {
		// It claimed, and stored its steps or sent: the store works, as
		// when one of Run's own calls succeeds, and an error it ended
		// with (a claim or a record that failed later) starts a new row.
		r.failing = 0
	}
	return err
}

// stop ends the Ticks in flight with end, the cancel of their context,
// and waits for them. Run defers it: after a return (finish has waited
// for every Tick) there are none; when Run unwinds, they claim and start
// nothing more, give back what they claimed, and record their sends in
// progress before the panic comes out of Run. Run repeats the first
// panic alone: theirs are logged, in one line.
func (r *runTicks) stop(end context.CancelFunc, e *Engine) {
	end()
	var later laterPanics
	later.reset("Run", "run")
	for ; r.running > 0; r.running-- {
		if end := <-r.done; end.panicked {
			later.add(e, end.value)
		}
	}
	later.tell(e)
}

// finish waits for the Ticks in flight to end, after ctx ended, and logs
// the store errors they met while their sends finished.
func (r *runTicks) finish(ctx context.Context, e *Engine) {
	for r.running > 0 {
		if err := r.landed(<-r.done); err != nil && !endOfContext(ctx, err) {
			e.logError("run", err)
		}
	}
}
