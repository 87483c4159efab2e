package connector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// group applies the ops of a courier's slots and keeper in shared store
// calls (a group commit), with no timer. A caller whose ops arrive while no
// call is in progress makes a call with them at once: a lone slot's ops go
// without delay. Ops that arrive during a call wait; a call is made for
// all the waiting callers (by the first of them) once a share of the
// callers — their number over groupCalls — is waiting and fewer than
// groupCalls calls are in progress, or when the last call in progress
// ends. So with a fast sender a call holds about a groupCalls-th of the
// slots' ops (on PostgreSQL, larger calls cost less per op), and a few
// calls at once keep both the store and the engine busy while the other
// waits for a round trip.
type group struct {
	e   *Engine
	ctx context.Context

	mu      sync.Mutex
	waiting []*request
	spares  [][]*request // empty waiting lists, for reuse
	calls   int          // calls in progress, or handed to a caller
	least   int          // the waiting callers worth a call while others are in progress
	// bound is the context of the calls that start before boundFrom plus
	// an eighth of a lease: it ends a lease after boundFrom, so each such
	// call has between seven eighths of a lease and a lease to answer (see
	// storeCall). One context, and its timer, serves the calls of an
	// eighth of a lease rather than one per call, which would cost a
	// delivery four allocations more.
	bound     context.Context
	boundEnd  context.CancelFunc
	boundFrom time.Time
}

// groupCalls bounds a courier's store calls in progress at once.
const groupCalls = 4

// request is one caller's ops. wake receives nil once they are applied,
// or the batch the caller is to apply, its own ops among them.
type request struct {
	ops     []store.Op
	shared  bool // the call held more than one op, and answered in time
	wake    chan []*request
	scratch []store.Op // the batch's ops, when the caller makes the call
}

// storeCall returns the context of one of a courier's store calls that
// must happen whether or not the Tick's context has ended (ctx has no
// end): the confirmations, the records of sends and the renewals of their
// leases. A call that has not answered within a lease fails, as if the
// store had failed it: the delivery's lease has run out by then, and the
// call's outcome goes the way of a store error's (the record retried
// while the lease lasts, the delivery sent again after it). Without that
// bound, a store that stops answering (a database cut off by the network,
// behind a driver that waits for its context) would hold the send slot,
// and Run's return at shutdown, for ever. The shared calls of the group
// take their context from group.callContext instead, which bounds them
// the same way, to between seven eighths of a lease and a lease, at less
// cost; storeCall serves the calls made on their own, after a failure
// (updateAlone).
func (e *Engine) storeCall(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, e.cfg.lease, errNoAnswer)
}

// updateAlone applies op in a store call of its own, bounded by a lease
// (storeCall), and returns its error.
func (e *Engine) updateAlone(ctx context.Context, op *store.Op) error {
	ctx, cancel := e.storeCall(ctx)
	defer cancel()
	return e.storeCallErr(ctx, e.store.Update(ctx, e.cfg.namespace, op.UserID, op.Now, op.Dedup, op.Fn))
}

// errNoAnswer is the cause of a storeCall context that ran out.
var errNoAnswer = errors.New("no answer within a lease")

// storeCallErr returns err, the error of a call made with ctx (from
// storeCall), naming the lease when the call got no answer within it: the
// store's own words would say only "context deadline exceeded", and a
// lease shorter than the store's commits fails every call so.
func (e *Engine) storeCallErr(ctx context.Context, err error) error {
	if err == nil || !errors.Is(context.Cause(ctx), errNoAnswer) {
		return err
	}
	return &noAnswerError{lease: e.cfg.lease, err: err}
}

// noAnswerError is the error of a storeCall that got no answer within the
// lease. It wraps the store's error (often context.DeadlineExceeded, of
// the call's own context) and is errNoAnswer too: it is a store failure,
// never the end of Tick's context, even when that context ended by a
// deadline of its own (see endOfContext).
type noAnswerError struct {
	lease time.Duration
	err   error
}

func (e *noAnswerError) Error() string {
	return fmt.Sprintf("the store gave no answer within the lease (%v, WithLease): %v", e.lease, e.err)
}

func (e *noAnswerError) Unwrap() error { return e.err }

func (e *noAnswerError) Is(target error) bool { return target == errNoAnswer }

// cutShort returns err, the error of a call made with ctx, as the end of
// ctx when ctx has ended: the call was cut short, whatever the store's
// driver says of it (one of its own errors, such as "operation
// cancelled", need not wrap context.Canceled). Run tells its own end by
// its context, not by the words of the error. The store's text stays in
// the error's, which says what the call was doing when ctx ended (a
// deadline that passed while the store hung).
func cutShort(ctx context.Context, err error) error {
	end := ctx.Err()
	if err == nil || end == nil || errors.Is(err, end) {
		return err
	}
	return fmt.Errorf("%w (the store's error: %v)", end, err)
}

// endOfContext reports whether err is only the end of ctx, which has
// ended: a call it cut short, not a store failure met meanwhile.
func endOfContext(ctx context.Context, err error) bool {
	return ctx.Err() != nil && errors.Is(err, ctx.Err()) && !errors.Is(err, errNoAnswer)
}

// reset readies the group for callers callers (the slots and the keeper).
func (g *group) reset(e *Engine, ctx context.Context, callers int) {
	g.e, g.ctx = e, ctx
	g.least = max(1, callers/groupCalls)
	if g.boundEnd != nil {
		g.boundEnd()
	}
	g.bound, g.boundEnd, g.boundFrom = nil, nil, time.Time{}
}

// callContext returns the context of a shared call starting now (see
// group.bound). The contexts it makes end with g.ctx, which ends with the
// Tick's slots, or at their deadline: none outlives the Tick.
func (g *group) callContext() context.Context {
	lease := g.e.cfg.lease
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now() // under the lock: boundFrom is never after it
	if g.bound == nil || now.Sub(g.boundFrom) >= lease/8 {
		// The context before it is not cancelled: calls may still use it.
		// It ends at its deadline, or with g.ctx.
		g.bound, g.boundEnd = context.WithDeadlineCause(g.ctx, now.Add(lease), errNoAnswer)
		g.boundFrom = now
	}
	return g.bound
}

// commit applies r's ops, each op's Err telling its fate, together with
// the ops of the other callers waiting at the same time.
func (g *group) commit(r *request) {
	g.mu.Lock()
	g.waiting = append(g.waiting, r)
	var batch []*request
	if g.calls == 0 || (g.calls < groupCalls && len(g.waiting) >= g.least) {
		g.calls++
		batch = g.takeWaiting()
		g.mu.Unlock()
	} else {
		g.mu.Unlock()
		if batch = <-r.wake; batch == nil {
			return // applied in another caller's call
		}
	}
	returned := false
	defer func() {
		if !returned {
			// The store panicked (the host may recover it): the other
			// callers, whose ops the call may not have applied, must not
			// wait for it for ever. Each is told so, and tries its ops on
			// its own.
			g.done(r, batch, errCallUnwound)
		}
	}()
	g.apply(r, batch)
	returned = true
	g.done(r, batch, nil)
}

// errCallUnwound is the error of the ops of a shared call that a panic
// unwound (the store's, in another caller's goroutine).
var errCallUnwound = errors.New("connector: a store call shared with this one panicked")

// done wakes the callers of batch other than r, whose call ended (failed
// with failed, if not nil), and hands the next call to a waiting caller.
func (g *group) done(r *request, batch []*request, failed error) {
	for _, b := range batch {
		if b != r {
			if failed != nil {
				b.shared = true
				for i := range b.ops {
					b.ops[i].Err = failed
				}
			}
			b.wake <- nil
		}
	}
	clear(batch)
	g.mu.Lock()
	g.spares = append(g.spares, batch[:0])
	if len(g.waiting) > 0 && (g.calls == 1 || len(g.waiting) >= g.least) {
		next := g.takeWaiting()
		next[0].wake <- next
	} else {
		// Too few are waiting to be worth a call while others are in
		// progress: they wait for more, or for the last call to end.
		g.calls--
	}
	g.mu.Unlock()
}

// takeWaiting returns the waiting callers and empties the list. g.mu is
// held.
func (g *group) takeWaiting() []*request {
	batch := g.waiting
	g.waiting = nil
	if n := len(g.spares); n > 0 {
		g.waiting, g.spares = g.spares[n-1], g.spares[:n-1]
	}
	return batch
}

// apply applies the ops of batch in one store call when the store takes
// batches, with r's scratch, and tells each caller whether the call held
// other ops than each of its own.
func (g *group) apply(r *request, batch []*request) {
	ctx := g.callContext()
	if len(batch) == 1 { // r's own ops alone
		g.e.applyOps(ctx, r.ops)
		r.shared = len(r.ops) > 1 && ctx.Err() == nil
		for i := range r.ops {
			r.ops[i].Err = g.e.storeCallErr(ctx, r.ops[i].Err)
		}
		return
	}
	ops := r.scratch[:0]
	for _, b := range batch {
		ops = append(ops, b.ops...)
	}
	g.e.applyOps(ctx, ops)
	// A call the store did not answer within its time failed for no op's
	// fault: its ops are not tried again each on its own, which would
	// wait as long again.
	answered := ctx.Err() == nil
	k := 0
	for _, b := range batch {
		b.shared = len(ops) > 1 && answered
		for i := range b.ops {
			b.ops[i].Err = g.e.storeCallErr(ctx, ops[k].Err)
			k++
		}
	}
	clear(ops)
	r.scratch = ops[:0]
}
