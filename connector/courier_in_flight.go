package connector

import (
	"context"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// inFlight is the engine's Ticks at work, whose slots hold its sends in
// progress: the deliveries confirmed and not yet recorded. A claim of one
// of them is the engine's own: the lease of the send ran out while it went
// on (the process was starved past the lease, or the clock stepped forward
// over it), and the claim must not send it again. The job that claimed it
// hands its token to the job that sends it, whose record and lease
// renewals take either token, and steps aside.
//
// The slots keep what they hold anyway (for the lease keeper), so the
// engine only keeps its couriers: a Tick adds and removes one, and a
// claim looks through their slots only when the delivery it got is marked
// as being sent, which no other claim is.
//
// It also keeps the tokens of its Ticks' claims: a claim of a send in
// progress may wait in its Tick's feed (claims come in batches) until the
// send has ended, and be checked only after its record. The record of a
// send (and the renewal of its lease) takes such a token for its own, so
// that the claim finds the outcome stored and sends nothing.
type inFlight struct {
	mu       sync.Mutex
	couriers map[*courier]struct{}
	claims   map[uint64]*courier // the tokens of the Ticks' claims, by Tick
}

// add registers w, whose Tick starts.
func (f *inFlight) add(w *courier) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.couriers == nil {
		f.couriers = make(map[*courier]struct{})
	}
	f.couriers[w] = struct{}{}
}

// remove forgets w and its claims, whose Tick ended (or unwound): it
// sends none of them any more.
func (f *inFlight) remove(w *courier) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.couriers, w)
	for t, c := range f.claims {
		if c == w {
			delete(f.claims, t)
		}
	}
}

// claiming registers the token of a claim w is about to make.
func (f *inFlight) claiming(token uint64, w *courier) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.claims == nil {
		f.claims = make(map[uint64]*courier)
	}
	f.claims[token] = w
}

// ours reports whether token is the one of a claim of a Tick of the
// engine in progress.
func (f *inFlight) ours(token uint64) bool {
	if token == 0 {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.claims[token]
	return ok
}

// handOver reports whether a slot of the engine sends j's delivery now,
// under a lease that j's claim took over; if so, the job sending it takes
// j's token as well, under its slot's lock, which keeps it from being
// recorded, reused or dropped meanwhile.
func (f *inFlight) handOver(j *job) bool {
	if !j.c.Pending.Sending {
		return false // no send of it is in progress: it was not confirmed since its last record
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for w := range f.couriers {
		for _, s := range w.slots {
			if s.adopt(j) {
				return true
			}
		}
	}
	return false
}

// adopt hands j's token to the job of s that sends j's delivery, if one
// does, and reports whether one did.
func (s *slot) adopt(j *job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.held {
		if h := &s.held[i]; h.j != nil && h.j != j && h.userID == j.c.UserID && h.id == j.c.Pending.ID && h.activation == j.c.Pending.Activation {
			h.j.adopted.Store(j.token)
			return true
		}
	}
	return false
}

// holds reports whether j's lease token is token: the one of its claim,
// or one a later claim of the same delivery by this engine handed it.
func (j *job) holds(token uint64) bool {
	return token != 0 && (token == j.token || token == j.adopted.Load())
}

// releaseAdopted gives back the delivery of j, whose confirmation was
// stored and did not send it, under token, the one of a later claim of
// this engine that stepped aside for j (handOver) while j's confirmation
// was on its way: that claim took the delivery before the confirmation
// was stored, so the confirmation found it another claim's. Nobody sends
// it under that token now; given back, the next claim sends it rather
// than wait for the lease. Best effort: if it fails, the lease runs out
// instead.
func (j *job) releaseAdopted(ctx context.Context, token uint64) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	e, id := j.w.e, j.c.Pending.ID
	now := e.cfg.clock.Now()
	_ = e.store.Update(ctx, e.cfg.namespace, j.c.UserID, now, store.Dedup{}, func(u *store.UserState, _ bool) {
		if i := u.Find(id); i >= 0 && u.Pending[i].Token == token {
			u.Pending[i].Token, u.Pending[i].ReadyAt = 0, now
		}
	})
}
