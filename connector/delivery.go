package connector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Tick sends every delivery due at the clock's now and returns how many the
// sender accepted (SPEC.md R10).
//
// Each due delivery is claimed with a lease, checked once more right
// before the sender is called, sent outside any lock, and then recorded:
// delivered (the user has received it, at the clock's time after the
// send), retried later with backoff, or failed after the last attempt. The
// last check, under the user's lock, honours what happened since the claim:
// an exception cancels it, a stopped follow-up cancels it, a frequency cap
// suppresses it; before it, outside the lock, send windows, quiet hours and
// rate limits defer or drop it, and an audience re-check may suppress it.
// A control-group delivery is recorded as held out instead of being sent.
//
// Each send worker takes its claims in groups: the last
// checks of a group are one store call, its sends follow one after the
// other, and their records are one store call (with a store that takes
// batches, [store.BatchUpdater], that is one transaction or one lock per
// shard for the group instead of two per delivery). A group holds up to 32
// deliveries while the sender answers fast, fewer as it slows down, so
// that a group's sends take about 100 ms at most: a delivery is checked
// that long before its send at most, and recorded that long after it. If
// the process dies between the claim and the record, the delivery is sent
// again after its lease, with the same ID — up to a group's sends per
// worker.
//
// Tick also prunes expired state from the store, at most once per prune
// interval. It returns the first store error it meets; deliveries it had
// claimed but not sent are released for the next Tick.
func (e *Engine) Tick(ctx context.Context) (int, error) {
	now := e.cfg.clock.Now()
	e.lastTick.Store(now.UnixNano())
	e.overdueLogged.Store(false)
	snap, err := e.current(ctx)
	if err != nil {
		return 0, fmt.Errorf("connector: tick: %w", err)
	}
	if err := e.maybePrune(ctx, now); err != nil {
		return 0, err
	}
	wctx := context.WithoutCancel(ctx)
	if e.cfg.concurrency <= 1 {
		return e.drain(ctx, wctx, snap, now, nil)
	}
	// Each worker claims its own batches: claims are disjoint (leased), so
	// the workers share nothing but the store.
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
		sent   = make([]int, e.cfg.concurrency)
		errs   = make([]error, e.cfg.concurrency)
	)
	for k := range e.cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent[k], errs[k] = e.drain(ctx, wctx, snap, now, &failed)
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range sent {
		total += n
	}
	return total, errors.Join(errs...)
}

// drain claims and delivers batches until none is full or, with several
// workers, another worker failed. On an error, the claims not yet started
// are released.
func (e *Engine) drain(ctx, wctx context.Context, snap *snapshot, now time.Time, failed *atomic.Bool) (int, error) {
	w := couriers.Get().(*courier)
	defer w.release()
	w.e, w.snap, w.ctx, w.size = e, snap, wctx, 1
	sent := 0
	for failed == nil || !failed.Load() {
		w.token = newToken()
		// Each batch is leased from the clock's time now, not the Tick's
		// start: a Tick that drains a backlog for longer than the lease
		// must not hand out leases that have already run out.
		if later := e.cfg.clock.Now(); later.After(now) {
			now = later
		}
		claims, err := e.store.Claim(ctx, e.cfg.namespace, now, e.cfg.lease, e.cfg.batch, w.token)
		if err != nil {
			err = fmt.Errorf("connector: tick: claiming due deliveries: %w", err)
		} else {
			// In due order (then by user and ID): stores hand claims out
			// roughly ordered, and a fixed order keeps simulations
			// reproducible. The order is sorted, not the (large) claims.
			w.order = w.order[:0]
			for i := range claims {
				w.order = append(w.order, &claims[i])
			}
			slices.SortFunc(w.order, compareClaims)
			var n int
			n, err = w.deliverAll(ctx, w.order, failed)
			sent += n
			clear(w.order)
			if r, ok := e.store.(store.ClaimRecycler); ok {
				r.RecycleClaims(claims)
			}
		}
		if err != nil {
			if failed != nil {
				failed.Store(true)
			}
			return sent, err
		}
		if len(claims) < e.cfg.batch {
			break
		}
	}
	return sent, nil
}

func compareClaims(a, b *store.Claim) int {
	if c := a.Pending.DueAt.Compare(b.Pending.DueAt); c != 0 {
		return c
	}
	if c := strings.Compare(a.UserID, b.UserID); c != 0 {
		return c
	}
	return strings.Compare(a.Pending.ID, b.Pending.ID)
}

// askDirectory fetches what the send-time checks of campaign c need to know
// about the user: their zone and, when c re-checks its audience, whether
// they are still in it.
func (e *Engine) askDirectory(ctx context.Context, c *rule.Campaign, userID string) (*time.Location, bool, error) {
	loc := e.cfg.location
	if e.needsLocationAtSend(c) {
		l, err := e.location(ctx, userID)
		if err != nil {
			return nil, false, err
		}
		loc = l
	}
	if !c.RecheckAudience {
		return loc, true, nil
	}
	in, err := e.inSegment(ctx, userID, c.Audience)
	return loc, in, err
}

// sendTimeCheck applies the checks that need no user state. It returns ""
// when the delivery may go, else the reason and, for a deferral, until when
// (zero: drop it).
func (e *Engine) sendTimeCheck(c *rule.Campaign, loc *time.Location, now time.Time, inAudience bool) (rule.Reason, time.Time) {
	if !inAudience {
		return rule.ReasonNotInAudience, time.Time{}
	}
	if w := c.SendWindow; w != nil && !w.Contains(now, loc) {
		if w.NextAvailable {
			return rule.ReasonOutsideSendWindow, w.Next(now, loc)
		}
		return rule.ReasonOutsideSendWindow, time.Time{}
	}
	if end := e.cfg.quiet.quietUntil(now, loc); !end.IsZero() {
		if e.cfg.quiet.Defer {
			return rule.ReasonQuietHours, end
		}
		return rule.ReasonQuietHours, time.Time{}
	}
	return "", time.Time{}
}
