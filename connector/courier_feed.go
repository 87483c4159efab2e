package connector

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// feed hands a Tick's claimed deliveries to its send slots in due order,
// claiming the next batch once the last is handed out, until a claim
// comes back short of a full batch.
//
// A claimed delivery may wait in the feed past its lease while slow sends
// go before it; another engine may claim it then. The confirmation checks
// the claim's token under the user's lock, so such a delivery is skipped,
// never sent by both.
type feed struct {
	w   *courier
	now time.Time // the lease start of the last claim; only the claimer uses it

	mu       sync.Mutex
	cond     sync.Cond // a claim ended
	claims   []store.Claim
	order    []*store.Claim // claims, in due order
	next     int            // order[next:] are not handed out yet
	token    uint64         // the claims' lease token
	claiming bool
	done     bool // nothing more to claim
}

func (f *feed) reset(w *courier, now time.Time) {
	f.w, f.now = w, now
	f.cond.L = &f.mu
	clear(f.order)
	f.claims, f.order, f.next, f.token, f.claiming, f.done = nil, f.order[:0], 0, 0, false, false
}

// handOut copies the next claim into j. f.mu is held.
func (f *feed) handOut(j *job) {
	j.c, j.token = *f.order[f.next], f.token
	f.order[f.next] = nil
	f.next++
}

// fill claims the first batch and returns how many deliveries it holds.
func (f *feed) fill() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.w.stopping() {
		f.claimLocked()
	}
	return len(f.order)
}

// poll hands the next claim to j if one is waiting. If none is, it reports
// whether take would claim, or wait for another slot's claim: more may
// come.
func (f *feed) poll(j *job) (got, wait bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next < len(f.order) {
		f.handOut(j)
		return true, false
	}
	return false, !f.done
}

// take hands the next claim to j, claiming a batch if none is waiting. It
// reports false when nothing more is due or the Tick is stopping.
func (f *feed) take(j *job) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		switch {
		case f.next < len(f.order):
			f.handOut(j)
			return true
		case f.done || f.w.stopping():
			return false
		case f.claiming:
			f.cond.Wait()
		default:
			f.claimLocked()
		}
	}
}

// claimLocked claims the next batch, with f.mu held except during the
// store call: the other slots wait for it meanwhile.
func (f *feed) claimLocked() {
	f.claiming = true
	old, order := f.claims, f.order[:0]
	f.claims, f.order, f.next = nil, order, 0
	f.mu.Unlock()
	claims, token, err := f.claim(old)
	for i := range claims {
		order = append(order, &claims[i])
	}
	// In due order (then by user and ID): stores hand claims out roughly
	// ordered, and a fixed order keeps simulations reproducible. The order
	// is sorted, not the (large) claims.
	slices.SortFunc(order, compareClaims)
	f.mu.Lock()
	f.claiming = false
	f.claims, f.order, f.token = claims, order, token
	f.done = err != nil || len(claims) < f.w.e.cfg.batch
	f.cond.Broadcast()
	if err != nil {
		f.w.fail(err)
	}
}

// claim recycles the batch handed out before and claims the next one.
func (f *feed) claim(old []store.Claim) ([]store.Claim, uint64, error) {
	e := f.w.e
	if r, ok := e.store.(store.ClaimRecycler); ok && old != nil {
		r.RecycleClaims(old)
	}
	// Each batch is leased from the clock's time now, not the Tick's
	// start: a Tick that drains a backlog for longer than the lease must
	// not hand out leases that have already run out.
	if later := e.cfg.clock.Now(); later.After(f.now) {
		f.now = later
	}
	token := newToken()
	claims, err := e.store.Claim(f.w.ctx, e.cfg.namespace, f.now, e.cfg.lease, e.cfg.batch, token)
	if err != nil {
		if f.w.ctx.Err() != nil {
			err = f.w.ctx.Err()
		}
		return nil, 0, fmt.Errorf("connector: tick: claiming due deliveries: %w", err)
	}
	return claims, token, nil
}

// close gives back the claims not handed out (the Tick stopped early), so
// that another Tick need not wait for their lease, and recycles the batch.
// Best effort: if the store fails, the leases run out instead.
func (f *feed) close() {
	e := f.w.e
	if rest := f.order[f.next:]; len(rest) > 0 {
		ctx, cancel := context.WithTimeout(f.w.wctx, 5*time.Second)
		now := e.cfg.clock.Now()
		ops := make([]store.Op, len(rest))
		for k, c := range rest {
			ops[k] = store.Op{UserID: c.UserID, Now: now, Fn: releaser(c.Pending.ID, f.token, now)}
		}
		e.applyOps(ctx, ops)
		cancel()
	}
	if r, ok := e.store.(store.ClaimRecycler); ok && f.claims != nil {
		r.RecycleClaims(f.claims)
	}
	clear(f.order)
	f.claims, f.order = nil, f.order[:0]
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
