package connector

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// feed hands a Tick's claimed deliveries to its send slots in due order
// (within each batch), until a claim comes back short of a full batch or
// the Tick's claims stop coming to anything (claimable).
// With several slots, it claims the next batch while the slots work
// through the last of the one before (when no more are left than there
// are slots), so that they need not wait for the claim; with one, it
// claims when the last is handed out, so that the sends go strictly in
// due order.
//
// A claimed delivery may wait in the feed past its lease while slow sends
// go before it; another engine may claim it then. The confirmation checks
// the claim's token under the user's lock, so such a delivery is skipped,
// never sent by both.
type feed struct {
	w     *courier
	now   time.Time // the lease start of the last claim; only the claimer uses it
	ahead int       // claim the next batch once no more than this many are left (0: none)

	mu       sync.Mutex
	cond     sync.Cond // a claim ended
	queue    []queued  // queue[next:] are not handed out yet
	next     int
	batches  []claimed // the claimed batches not all handed out, oldest first
	claiming bool
	done     bool                  // nothing more to claim
	order    []*store.Claim        // the claimer's, to sort a batch
	seen     map[claimKey]struct{} // the claimer's, to drop a batch's copies (once)
}

// claimKey names a claimed delivery: its user and ID.
type claimKey struct{ userID, id string }

// queued is a claim waiting in the feed, with its lease token.
type queued struct {
	c     *store.Claim
	token uint64
}

// claimed is a batch a Claim returned; its last claim is queue[end-1].
type claimed struct {
	claims []store.Claim
	end    int
}

func (f *feed) reset(w *courier, now time.Time, ahead int) {
	f.w, f.now, f.ahead = w, now, ahead
	f.cond.L = &f.mu
	clear(f.queue)
	clear(f.batches)
	f.queue, f.next, f.batches, f.claiming, f.done = f.queue[:0], 0, f.batches[:0], false, false
}

// fill claims the first batch and returns how many deliveries it holds.
func (f *feed) fill() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.w.stopping() {
		f.claiming = true
		f.claim()
	}
	return len(f.queue)
}

// poll hands the next claim to j if one is waiting. If none is, it reports
// whether take would claim, or wait for a claim: more may come.
func (f *feed) poll(j *job) (got, wait bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next < len(f.queue) {
		f.handOut(j)
		return true, false
	}
	return false, !f.done
}

// waiting returns how many claims wait to be handed out.
func (f *feed) waiting() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queue) - f.next
}

// take hands the next claim to j, claiming a batch if none is waiting. It
// reports false when nothing more is due or the Tick is stopping.
func (f *feed) take(j *job) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		switch {
		case f.next < len(f.queue):
			f.handOut(j)
			return true
		case f.done || f.w.stopping():
			return false
		case f.claiming:
			f.cond.Wait()
		case !f.claimable():
			f.done = true
		default:
			f.claiming = true
			f.claim()
		}
	}
}

// handOut copies the next claim into j, recycles the batches all handed
// out, and starts claiming the next batch if few are left. f.mu is held.
func (f *feed) handOut(j *job) {
	q := f.queue[f.next]
	j.c, j.token = *q.c, q.token
	f.queue[f.next] = queued{}
	f.next++
	f.w.handed.Add(1)
	f.w.idle.Add(1)
	for len(f.batches) > 0 && f.batches[0].end <= f.next {
		f.recycle(f.batches[0].claims)
		f.batches = append(f.batches[:0], f.batches[1:]...)
	}
	if f.ahead > 0 && !f.claiming && !f.done && len(f.queue)-f.next <= f.ahead && !f.w.stopping() && f.claimable() {
		f.claiming = true
		go func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			// guard keeps a panic of the store's before f.mu is let go:
			// the Tick, which waits for this claim under f.mu (close),
			// then finds it when it looks for one (w.unwound), and no
			// goroutine of its touches the courier once the Tick has
			// pooled it.
			f.w.guard(f.claim)
		}()
	}
}

// claimable reports whether the feed may claim another batch: not once
// more of the Tick's claims in a row came to nothing than a stop may make
// so, all the Tick holds claimed at once (courier.idleMax: a batch a lane,
// and a few claims a slot; counted from their handing out, so the slots'
// claims not yet confirmed count too). A step finds a claim came to
// nothing when its delivery is gone or leased to another claim: a stop or
// an exception removed it, another engine took it, or the store hands out
// deliveries it did not lease to the claim (a broken custom store, whose
// Claim may then hand out full batches for ever). The Tick ends with what
// it has: Run's next Tick claims afresh, and paces itself should its
// Ticks go on coming to nothing (claimStreak).
func (f *feed) claimable() bool {
	return f.w.idle.Load() <= f.w.idleMax
}

// claim claims the next batch and queues it, with f.mu held except during
// the store call; f.claiming is set. Slots that need a claim meanwhile
// wait for it.
func (f *feed) claim() {
	f.mu.Unlock()
	returned := false
	defer func() {
		if !returned {
			// The store panicked, for the host to recover: the caller's
			// deferred unlock needs f.mu held (an unlock of an unlocked
			// mutex is a fatal error, which nothing recovers), and the
			// slots that wait for this claim find nothing more to claim.
			f.mu.Lock()
			f.claiming, f.done = false, true
			f.cond.Broadcast()
		}
	}()
	claims, token, err := f.claimBatch()
	returned = true
	order := f.order[:0]
	for i := range claims {
		order = append(order, &claims[i])
	}
	// In due order (then by user and ID): stores hand claims out roughly
	// ordered, and a fixed order keeps simulations reproducible. The order
	// is sorted, not the (large) claims.
	slices.SortFunc(order, compareClaims)
	order = f.once(order)
	f.mu.Lock()
	if f.next > 0 { // make room at the front
		n := copy(f.queue, f.queue[f.next:])
		clear(f.queue[n:])
		f.queue = f.queue[:n]
		for k := range f.batches {
			f.batches[k].end -= f.next
		}
		f.next = 0
	}
	for _, c := range order {
		f.queue = append(f.queue, queued{c: c, token: token})
	}
	clear(order)
	f.order = order[:0]
	if len(claims) > 0 {
		f.batches = append(f.batches, claimed{claims: claims, end: len(f.queue)})
	}
	f.claiming = false
	f.done = err != nil || len(claims) < f.w.batch
	f.cond.Broadcast()
	if err != nil {
		f.w.fail(err)
	}
}

// once drops from order, a batch in due order, each copy of a delivery
// (the same user and ID) after the first, and returns the rest. A claim
// that returns a delivery twice is a store's fault (no claim may hand out
// what a claim leased, this one included), and two jobs holding the
// claim's token could both confirm and send it: one job takes it. The
// copies need not come together in due order: a store that joins a stale
// copy of a row gives them different due times.
func (f *feed) once(order []*store.Claim) []*store.Claim {
	if len(order) < 2 {
		return order
	}
	if f.seen == nil {
		f.seen = make(map[claimKey]struct{}, len(order))
	}
	kept := order[:0]
	for _, c := range order {
		k := claimKey{c.UserID, c.Pending.ID}
		if _, ok := f.seen[k]; ok {
			continue
		}
		f.seen[k] = struct{}{}
		kept = append(kept, c)
	}
	clear(f.seen)
	clear(order[len(kept):])
	return kept
}

// claimBatch claims a batch with a new token.
func (f *feed) claimBatch() ([]store.Claim, uint64, error) {
	e := f.w.e
	// Each batch is leased from the clock's time now, not the Tick's
	// start: a Tick that drains a backlog for longer than the lease must
	// not hand out leases that have already run out.
	if later := e.cfg.clock.Now(); later.After(f.now) {
		f.now = later
	}
	// Campaign changes made through other engines since the last claim
	// apply to this batch's checks.
	if _, err := e.current(f.w.ctx); err != nil {
		return nil, 0, fmt.Errorf("connector: tick: reading campaigns: %w", cutShort(f.w.ctx, err))
	}
	token := newToken()
	e.sending.claiming(token, f.w)
	claims, err := e.store.Claim(f.w.ctx, e.cfg.namespace, f.now, e.cfg.lease, f.w.batch, token)
	if err != nil {
		return nil, 0, fmt.Errorf("connector: tick: claiming due deliveries: %w", cutShort(f.w.ctx, err))
	}
	return claims, token, nil
}

// recycle hands a batch all handed out back to the store, if it takes
// them back.
func (f *feed) recycle(claims []store.Claim) {
	if r, ok := f.w.e.store.(store.ClaimRecycler); ok {
		r.RecycleClaims(claims)
	}
}

// close gives back the claims not handed out (the Tick stopped early) and
// recycles the batches.
func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.giveBackLocked()
	for _, b := range f.batches {
		f.recycle(b.claims)
	}
	clear(f.queue)
	clear(f.batches)
	f.queue, f.next, f.batches = f.queue[:0], 0, f.batches[:0]
}

// giveBack waits for a claim in progress and gives back the claims not
// handed out, so that another engine need not wait for their lease; the
// feed hands out nothing more. It runs as soon as the Tick's context
// ends, while the sends in progress finish: a send that takes its
// time (up to the send timeout, or one that hangs until the process is
// killed) then holds back no delivery but its own. Giving back is best
// effort: if the store fails, the leases run out instead.
func (f *feed) giveBack() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.giveBackLocked()
}

// giveBackLocked is giveBack, with f.mu held.
func (f *feed) giveBackLocked() {
	for f.claiming {
		f.cond.Wait()
	}
	f.done = true
	rest := f.queue[f.next:]
	if len(rest) == 0 {
		return
	}
	e := f.w.e
	ctx, cancel := context.WithTimeout(f.w.wctx, 5*time.Second)
	defer cancel()
	now := e.cfg.clock.Now()
	ops := make([]store.Op, len(rest))
	for k, q := range rest {
		ops[k] = store.Op{UserID: q.c.UserID, Now: now, Fn: releaser(q.c.Pending.ID, q.token, now)}
	}
	clear(rest)
	f.next = len(f.queue)
	e.applyOps(ctx, ops)
}

// releaser returns an update that gives delivery id back if it is still
// leased with token and its send has not started.
func releaser(id string, token uint64, now time.Time) func(*store.UserState, bool) {
	return func(u *store.UserState, _ bool) {
		if i := u.Find(id); i >= 0 {
			releasePending(u.Pending[i], token, now)
		}
	}
}

// releasePending gives p back, claimable at now, if it is still leased
// with token and its send has not started.
func releasePending(p *store.Pending, token uint64, now time.Time) {
	if p.Token == token && !p.Sending {
		p.Token, p.ReadyAt = 0, now
	}
}
