package connector

import (
	"cmp"
	"fmt"
	"sync"

	"github.com/campaignconnector/campaignconnector/store"
)

// keeper renews the leases of a courier's deliveries that are being sent
// (or whose outcome is being recorded), so that no other engine takes a
// delivery while this one still works on it, however long the send takes.
// Every quarter of the lease, it renews each lease with at most half of it
// left: while the rounds keep their pace, a renewal starts with more than
// a quarter of the lease to spare.
// It runs from a courier's first send to the end of its Tick, on one timer
// of the engine's clock.
type keeper struct {
	once sync.Once
	stop chan struct{}
	done chan struct{}
	req  request
}

func (k *keeper) reset() {
	k.once = sync.Once{}
	k.stop, k.done, k.req.wake = nil, nil, nil
}

// start starts the keeper of w if it is not running.
func (k *keeper) start(w *courier) {
	k.once.Do(func() {
		k.stop, k.done = make(chan struct{}), make(chan struct{})
		k.req.wake = make(chan []*request, 1)
		go w.guard(func() { k.run(w) })
	})
}

// halt stops the keeper, if it runs, and waits for it.
func (k *keeper) halt() {
	k.abandon()
	if k.done != nil {
		<-k.done
	}
}

// abandon stops the keeper, if it runs, without waiting for it: the Tick
// is unwinding, and the keeper may wait for a store call that the
// unwinding slot was to make.
func (k *keeper) abandon() {
	k.once.Do(func() {}) // a keeper that has not started never will
	if k.stop != nil {
		close(k.stop)
	}
}

// run renews leases in rounds a quarter of the lease apart, counted from
// when each round was due rather than from when the one before returned:
// a slow store then delays one renewal, not every round after it, and
// each lease keeps its quarter of spare time less that one renewal's. A
// round that returns after the next was due starts the next at once, and
// the pace counts from that one.
func (k *keeper) run(w *courier) {
	defer close(k.done)
	clk, period := w.e.cfg.clock, w.e.cfg.lease/4
	next := clk.Now().Add(period)
	for {
		t := clk.Timer(max(next.Sub(clk.Now()), 0))
		select {
		case <-k.stop:
			t.Stop()
			return
		case <-t.C:
		}
		k.round(w)
		next = next.Add(period)
		if now := clk.Now(); next.Before(now) {
			// The round returned after the next was due: the next starts
			// at once, and the rounds missed meanwhile collapse into it,
			// or a store that hung for minutes and then fails fast would
			// get (and the log would show) every missed round in a burst.
			next = now
		}
	}
}

// round renews the leases due (renew). A store's panic there is kept for
// the Tick to repeat (keepPanic, as guard does), and the rounds go on:
// the sends in progress finish before the Tick unwinds, and a lease that
// ran out meanwhile would let another engine send their deliveries
// again. A runtime.Goexit, which nothing stops, ends the keeper: the
// guard it runs under keeps it, once.
func (k *keeper) round(w *courier) {
	returned := false
	defer func() {
		if !returned {
			if v := recover(); v != nil { // nil: runtime.Goexit, kept by run's guard
				w.keepPanic(v)
			}
		}
	}()
	k.renew(w)
	returned = true
}

// renewal is one lease to renew: where the slot holds it, what it holds
// then, and whether the store renewed it or found the delivery gone.
type renewal struct {
	s       *slot
	l       lease
	renewed bool
	gone    bool
}

// renew extends the leases that have at most half of their length left.
func (k *keeper) renew(w *courier) {
	e := w.e
	now := e.cfg.clock.Now()
	end := now.Add(e.cfg.lease)
	var due []*renewal
	for _, s := range w.slots {
		s.mu.Lock()
		for _, l := range s.held {
			if l.j != nil && l.end.Sub(now) <= e.cfg.lease/2 {
				due = append(due, &renewal{s: s, l: l})
			}
		}
		s.mu.Unlock()
	}
	if len(due) == 0 {
		return
	}
	ops := make([]store.Op, len(due))
	for i, r := range due {
		ops[i] = store.Op{UserID: r.l.userID, Now: now, Fn: func(u *store.UserState, _ bool) {
			r.renewed, r.gone = false, false
			if i := u.Find(r.l.id); i < 0 {
				r.gone = true
			} else if p := u.Pending[i]; p.Sending && p.Token != 0 && (p.Token == r.l.token || p.Token == r.l.j.adopted.Load() ||
				p.Activation == r.l.activation && e.sending.ours(p.Token)) {
				p.ReadyAt, r.renewed = end, true
			}
		}}
	}
	k.req.ops = ops
	w.group.commit(&k.req)
	k.req.ops = nil
	if w.group.ctx.Err() != nil {
		return // the slots have ended: the leases are of no use now
	}
	after := e.cfg.clock.Now()
	var failed int
	var first error
	for i, r := range due {
		if ops[i].Err != nil {
			failed++
			first = cmp.Or(first, ops[i].Err)
		}
		// A delivery found gone while its lease still lived, which keeps
		// every other engine from it, was removed by a stop or an archive:
		// its lease is not renewed again, and may end before the send
		// does, so the slot keeps that it was removed while held, for the
		// send's record to report its outcome (stoppedDuringSend).
		gone := ops[i].Err == nil && r.gone && after.Before(r.l.end)
		if !gone && (ops[i].Err != nil || !r.renewed) {
			continue // tried again at the next round, while the lease lasts
		}
		r.s.mu.Lock()
		if h := r.s.heldAt(r.l.j); h.j == r.l.j && h.id == r.l.id && h.token == r.l.token {
			if gone {
				h.gone = true
			} else {
				h.end = end
			}
		}
		r.s.mu.Unlock()
	}
	if failed > 0 {
		// Nobody else hears of it: a lease that runs out during its send
		// lets another engine send the delivery again.
		e.logError("renewing leases", fmt.Errorf("%d of %d sends in progress kept their lease as it was, tried again in %v (a lease that ends during its send lets another engine send the delivery again): %w",
			failed, len(due), e.cfg.lease/4, first))
	}
}
