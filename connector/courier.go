package connector

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/props"
	"github.com/campaignconnector/campaignconnector/store"
)

// A courier sends what one Tick claims. Each of its send slots (the
// engine's send concurrency) takes one claimed delivery at a time through
// its steps: the checks that need no lock; the last check under the user's
// lock, which marks the delivery as sending (the confirmation); the send;
// the record of its outcome. A slot stores the record of one send together
// with the confirmation of its next delivery, so it holds at most one
// delivery sent and not recorded: a crash repeats at most one send per
// slot.
//
// The slots' store calls are grouped (see group): the slots in flight at
// the same time share calls (one transaction, or one lock per shard, for
// all of them), rather than one slot's sequence of sends sharing them. A
// keeper renews the leases of the deliveries being sent, so no other
// engine takes a delivery this one still works on.
type courier struct {
	e     *Engine
	ctx   context.Context // Tick's: no claim, confirmation or send starts once it ends
	wctx  context.Context // Tick's without its end: the sender's, and for store calls that must happen
	feeds []*feed         // one per lane
	lanes int             // the feeds in use: feeds[:lanes]
	group group
	keep  keeper
	slots []*slot

	rt    *runTick // Run's share of the send slots; nil for a Tick
	batch int      // deliveries a claim takes at most

	failed atomic.Bool // a store error: no new send starts
	sent   atomic.Int64
	handed atomic.Int64 // claims handed to the slots
	took   atomic.Bool  // a step found its claim's delivery still the claim's
	// idle counts the claims handed to the slots since a step last found
	// its claim's delivery still the claim's; the feeds claim no more once
	// it passes idleMax (see feed.claimable).
	idle    atomic.Int64
	idleMax int64
	errMu   sync.Mutex
	err     error // the first error
	ended   error // the first error that was the end of ctx

	// unwound is the first panic (or runtime.Goexit) that unwound one of
	// the courier's goroutines other than the Tick's: the Tick repeats it
	// on its own goroutine once the rest of its work has ended.
	unwound atomic.Pointer[tickEnd]
	later   laterPanics // the panics after it
}

var couriers = sync.Pool{New: func() any { return &courier{} }}

// newCourier returns a courier with up to n slots for one Tick, whose
// claims take up to batch deliveries each.
func (e *Engine) newCourier(ctx context.Context, now time.Time, n, batch int) *courier {
	w := couriers.Get().(*courier)
	w.e, w.ctx, w.wctx, w.batch = e, ctx, context.WithoutCancel(ctx), batch
	for len(w.feeds) < lanes {
		w.feeds = append(w.feeds, &feed{})
	}
	for _, f := range w.feeds {
		f.reset(w, now, 0)
	}
	w.keep.reset()
	w.later.reset("the Tick", "tick")
	// A pooled courier keeps the slots it built, up to its slice's
	// capacity, whatever the engine it served last; the places past
	// those it built are nil (append grew the capacity past them).
	w.slots = w.slots[:cap(w.slots)]
	for k := range n {
		if k == len(w.slots) {
			w.slots = append(w.slots, nil)
		}
		if w.slots[k] == nil {
			s := &slot{w: w}
			for i := range s.jobs {
				j := &s.jobs[i]
				j.w, j.apply = w, j.update
			}
			w.slots[k] = s
		}
	}
	w.slots = w.slots[:n]
	return w
}

func (w *courier) release() {
	for _, f := range w.feeds {
		f.reset(nil, time.Time{}, 0)
	}
	w.group.reset(nil, nil, 0)
	for _, s := range w.slots {
		for k := range s.jobs {
			s.jobs[k].clear()
		}
		s.held = [2]lease{}
		s.req.wake, s.feed = nil, nil
	}
	w.e, w.ctx, w.wctx, w.err, w.ended, w.rt = nil, nil, nil, nil, nil, nil
	w.failed.Store(false)
	w.unwound.Store(nil)
	w.sent.Store(0)
	w.handed.Store(0)
	w.took.Store(false)
	w.idle.Store(0)
	couriers.Put(w)
}

// lanes is how many feeds a courier's slots share at most. Each feed
// claims batches of its own, so that slots in different lanes work on
// deliveries of different claims: the memory store hands a batch out of
// one or two of its shards, whose locks the slots of one lane share.
const lanes = 4

// run sends until nothing is due or the Tick stops, and returns how many
// sends the sender accepted and the first error. It claims the first
// batch before it starts the slots, so that a Tick that finds few
// deliveries starts no more slots than it has deliveries (a batch short of
// full is the last); the other lanes claim theirs when their slots start.
func (w *courier) run() (int, error) {
	w.recordKept()
	slots := w.slots[:min(len(w.slots), w.feeds[0].fill())]
	w.rt.claimed(len(slots))
	// The shared store calls end with the slots: a renewal still in
	// progress then renews nothing of use, and must not hold the Tick's
	// return for a lease more when the store does not answer.
	gctx, endCalls := context.WithCancel(w.wctx)
	defer endCalls()
	w.group.reset(w.e, gctx, len(slots)+1)
	w.lanes = max(1, min(lanes, len(slots)))
	// A stop (or an exception) that lands during the Tick may make all it
	// holds claimed then come to nothing in a row: each lane's batch and
	// the claims it keeps ahead for its slots (one a slot), and the claims
	// the slots check then (one a slot); the count also holds the claims
	// handed out since, not confirmed yet (one a slot). The feeds claim on
	// after that many; more is a store that hands out claims it did not
	// lease.
	w.idleMax = int64(w.lanes*w.batch + 3*len(slots))
	feeds := w.feeds[:w.lanes]
	for k, s := range slots {
		s.feed = feeds[k%len(feeds)]
	}
	if len(slots) > 1 {
		for k, f := range feeds {
			// A lane's slots: len(slots)/len(feeds), one more for the
			// first len(slots)%len(feeds) lanes.
			f.ahead = len(slots) / len(feeds)
			if k < len(slots)%len(feeds) {
				f.ahead++
			}
		}
	}
	// Channels are made for each Tick, never reused: a Tick may run in a
	// synctest bubble, whose channels no other may use.
	for _, s := range slots {
		s.req.wake = make(chan []*request, 1)
	}
	// When the Tick's context ends, the claims not handed out go back at
	// once, not once the sends in progress end, on a goroutine of their
	// own: the keeper must go on renewing the leases of those sends
	// meanwhile, however long the store takes to take the claims back.
	gave := make(chan struct{})
	stopGiving := context.AfterFunc(w.ctx, func() {
		defer close(gave)
		w.guard(func() {
			for _, f := range feeds {
				f.giveBack()
			}
		})
	})
	// A slot that runs on this goroutine may unwind it (an observer's
	// or the store's panic, which the host may recover; a sender that
	// ends its goroutine, as t.FailNow does): the keeper stops, with no
	// wait, the claims not handed out go back, and Tick drops the
	// courier rather than pool it (see Engine.Tick). One that unwinds a
	// goroutine of its own ends it alone (guard): the Tick unwinds once
	// the rest has ended.
	ended := false
	defer func() {
		if !ended {
			w.unwinding(feeds, stopGiving)
		}
	}()
	if len(slots) == 1 {
		slots[0].run()
		w.rt.slotEnded()
	} else if len(slots) > 1 {
		var wg sync.WaitGroup
		for _, s := range slots {
			wg.Go(func() {
				if w.guard(s.run) {
					w.rt.slotEnded() // Run may start a Tick with it
				}
			})
		}
		wg.Wait()
	}
	if !stopGiving() { // it started: the feeds are its until it ends
		<-gave
	}
	ended = true
	endCalls()
	w.keep.halt()
	// The store may panic taking back what the slots had not reached:
	// the Tick repeats that panic if it is the first, as it does a
	// slot's, and logs it if it comes after one.
	w.guard(func() {
		for _, f := range w.feeds {
			f.close()
		}
	})
	w.later.tell(w.e)
	if end := w.unwound.Load(); end != nil {
		unwind(*end) // and Tick drops the courier
	}
	err := cmp.Or(w.err, w.ended, w.ctx.Err())
	if err == nil {
		w.rt.claimsEnded(w.handed.Load(), w.took.Load())
	}
	return int(w.sent.Load()), err
}

// waitingFeed returns the feed in use with the most claims waiting to be
// handed out, or nil when none has any.
func (w *courier) waitingFeed() *feed {
	var best *feed
	most := 0
	for _, f := range w.feeds[:w.lanes] {
		if n := f.waiting(); n > most {
			best, most = f, n
		}
	}
	return best
}

// stopping reports whether no new send may start: Tick's context ended or
// a store call failed.
func (w *courier) stopping() bool { return w.ctx.Err() != nil || w.failed.Load() }

// fail stops new sends and keeps err if it is the first. An error that is
// the end of the Tick's context (a claim it cut short) is kept apart, and
// told only if no other comes: a store's failure after it (a record lost
// as the sends in progress finish) is the one the Tick returns.
func (w *courier) fail(err error) {
	w.errMu.Lock()
	switch {
	case endOfContext(w.ctx, err):
		if w.ended == nil {
			w.ended = err
		}
	case w.err == nil:
		w.err = err
	}
	w.errMu.Unlock()
	w.failed.Store(true)
}

// slot takes deliveries through their steps one at a time.
type slot struct {
	w    *courier
	feed *feed  // its lane's
	jobs [2]job // the delivery on its way, and the one before it
	ops  []store.Op
	req  request

	mu   sync.Mutex // guards held, which the keeper reads
	held [2]lease   // deliveries confirmed and not recorded
}

// run delivers claims until its feed is empty or the Tick stops.
func (s *slot) run() {
	w, f := s.w, s.feed
	// A slot unwound mid-send (a sender that ends its goroutine, a panic
	// the host recovers) never records it: its send is no longer in
	// progress, and the next claim after its lease sends it again, as
	// after a crash.
	defer s.forgetHeld()
	var prev *job // confirmed: its outcome to record
	k := 0
	for {
		var next *job
		if !w.stopping() {
			j := &s.jobs[k]
			got, wait := f.poll(j)
			if !got && wait {
				// The feed must claim or wait for a claim: record prev
				// first rather than keep it unrecorded meanwhile.
				if prev != nil {
					s.commit(prev, nil)
					prev = nil
				}
				got = f.take(j)
			}
			if !got {
				// Its lane has nothing more: help a lane that still has
				// claims waiting (the first claim may have taken all that
				// was due, leaving the other lanes nothing to claim).
				if g := w.waitingFeed(); g != nil {
					f, s.feed = g, g
					got, _ = f.poll(j)
				}
			}
			if got {
				j.reset()
				j.check()
				switch j.step {
				case stepAside:
					// Another slot of this engine sends it: nothing to
					// store, and the job is free for the next claim.
					j.finish()
					if prev == nil {
						continue
					}
				case stepRecord:
					// A send of this engine whose record the store never
					// took: recorded now as a send's record is, and
					// retried as one while the claim's lease lasts.
					if prev != nil {
						s.commit(prev, nil)
					}
					w.keep.start(w)
					s.hold(j, j.leaseEnd)
					prev = j
					k ^= 1
				default:
					next = j
					k ^= 1
				}
			}
		}
		if prev == nil && next == nil {
			return
		}
		s.commit(prev, next)
		prev = nil
		if next != nil && next.ok {
			s.send(next)
			prev = next
		}
	}
}

// commit stores the outcome of prev's send and next's step (either may be
// nil) in one group commit, then hands their decisions to the observers.
func (s *slot) commit(prev, next *job) {
	w := s.w
	e := w.e
	ops := s.ops[:0]
	if prev != nil {
		prev.step = stepRecord
		prev.held = s.stillHeld(prev, e.cfg.clock.Now())
		ops = append(ops, store.Op{UserID: prev.c.UserID, Now: prev.now, Fn: prev.apply})
	}
	if next != nil {
		if next.step != stepConfirm {
			// The confirmation keeps the time its checks ran at; the other
			// steps are stamped when they are stored.
			next.now = e.cfg.clock.Now()
		}
		// The lease a confirmation renews counts from now, not from the
		// checks' start: the checks may have waited for the directory,
		// a rate limit or a slot's last record for a good part of the
		// lease.
		next.leaseFrom = e.cfg.clock.Now()
		ops = append(ops, store.Op{UserID: next.c.UserID, Now: next.now, Fn: next.apply})
		if next.step == stepConfirm {
			// Held from the moment its confirmation may be stored: a
			// claim of this engine that comes once it is, before the
			// send (the process starved, or the clock stepped, past the
			// lease meanwhile), is one of this send's (inFlight).
			s.hold(next, time.Time{})
		}
	}
	s.req.ops = ops
	w.group.commit(&s.req)
	if prev != nil && ops[0].Err != nil {
		prev.retried = true // the record's next call may find it stored
	}
	if s.req.shared {
		// A store that applies a batch as one transaction fails all of it
		// for one op's fault: each op that failed in a call with other ops
		// is tried once more on its own, at once. Each slot tries its
		// own, so a store that is down gets one call per slot, at once,
		// rather than one per op in a row.
		for i := range ops {
			if op := &ops[i]; op.Err != nil {
				op.Err = e.updateAlone(w.wctx, op)
			}
		}
	}
	var nextErr error
	if next != nil {
		// Held before prev's record is retried, if it must be: the keeper
		// renews the lease of both meanwhile.
		if nextErr = ops[len(ops)-1].Err; nextErr == nil && next.ok {
			s.hold(next, next.leaseEnd)
		} else if next.step == stepConfirm {
			s.unhold(next) // not sent
			if t := next.adopted.Load(); t != 0 && nextErr == nil {
				next.releaseAdopted(w.wctx, t)
			}
		}
	}
	if prev != nil {
		if err := ops[0].Err; err != nil {
			s.retryRecord(prev, err)
		} else {
			e.tally(prev.marks, prev.now, prev.c.UserID, "tick")
			e.observeAll(prev.dec)
			e.failures.note(prev.dec, e.cfg.namespace)
		}
		s.unhold(prev)
		prev.finish()
	}
	if next != nil {
		s.settle(next, nextErr)
	}
	clear(ops)
	s.ops, s.req.ops = ops[:0], nil
}

// settle handles the result of j's step: its decisions go to the
// observers; if the step failed, the delivery is not sent and is given
// back.
func (s *slot) settle(j *job, err error) {
	e := s.w.e
	if err != nil {
		// The step may have run and not been stored: nothing is sent.
		j.ok = false
		j.finish()
		if j.step != stepRelease {
			j.release(s.w.wctx)
		}
		s.w.fail(fmt.Errorf("connector: tick: delivery %s: %w", j.c.Pending.ID, err))
		return
	}
	e.tally(j.marks, j.now, j.c.UserID, "tick")
	e.observeAll(j.dec)
	e.failures.note(j.dec, e.cfg.namespace)
	if j.ok {
		if j.enroll != nil && j.enroll.scheduled && j.enroll.earliest < e.armed.Load() {
			e.signal()
		}
	}
	j.finish()
	if j.err != nil {
		s.w.fail(j.err)
	}
}

// send calls the sender with j's delivery, unless the Tick stopped since
// the confirmation: then the delivery is given back as it was.
func (s *slot) send(j *job) {
	w := s.w
	e := w.e
	if w.stopping() {
		j.sendErr = errNotSent
		return
	}
	w.keep.start(w)
	d := j.d
	// The sender may keep and change what it gets: the trigger's
	// properties are the stored delivery's, and the message the
	// campaign's.
	if len(d.Trigger.Properties) > 0 {
		d.Trigger.Properties = props.Clone(d.Trigger.Properties)
	}
	if d.Message != nil {
		d.Message = append(d.Message[:0:0], d.Message...)
	}
	// The sender's context does not end with Tick's: a send that has
	// started finishes (bounded by the send timeout) and is recorded.
	j.sendErr = e.callSender(w.wctx, d)
	j.now = e.cfg.clock.Now()
	if j.sendErr == nil {
		w.sent.Add(1)
	} else {
		j.retryAt = j.now.Add(e.cfg.retry.backoff(d.Attempt))
	}
}
