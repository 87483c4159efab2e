package connector

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Tick sends every delivery due at the clock's now and returns how many the
// sender accepted.
//
// Each due delivery is claimed with a lease, checked once more right
// before the sender is called, sent outside any lock, and then recorded:
// delivered (the user has received it, at the clock's time after the
// send), retried later with backoff, or failed after the last attempt. The
// last check, under the user's lock right before the delivery's own send,
// honours what happened since the claim: an exception cancels it, a
// stopped follow-up cancels it, a frequency cap suppresses it, and a
// delivery another engine has claimed since (its lease ran out while it
// waited) is left to that engine; before it, outside the lock, send
// windows, quiet hours and rate limits defer or drop it, and an audience
// re-check may suppress it. A control-group delivery is recorded as held
// out instead of being sent. Tick claims batch after batch
// ([WithBatchSize]) until one comes back short, or until more of its
// claims in a row came to nothing (each found its delivery gone or
// leased to another claim, and skipped it) than it may hold claimed at
// once (up to four batches, claimed side by side, and three claims a
// send slot): a stop that removes all it holds claimed does not end it,
// and a store whose Claim hands out deliveries it did not lease to the
// claim costs a Tick about a dozen claims, not a loop of claims; what is
// still due then waits for the next Tick.
//
// Up to the send concurrency ([WithSendConcurrency]) sends are in progress
// at once. The last check leaves the delivery's lease at least half its
// length ([WithLease]), and while the send lasts the lease is renewed
// before it runs out, so no other engine takes a delivery this one is
// still sending. Each send slot records the outcome of a send in the same
// store call as the last check of its next delivery, and the slots in
// flight at the same time share their store calls (one transaction, or one
// lock per shard, with a store that takes batches: [store.BatchUpdater]).
// If the process dies, the deliveries whose send had started and whose
// outcome was not recorded — at most one per slot — are sent again after
// their lease, with the same ID. A store error while recording an outcome
// is retried with a short backoff while the lease lasts; past it, Tick
// returns the error and the engine keeps the outcome in memory: its next
// Tick stores it first, before it claims anything, and a claim of the
// delivery by this engine stores it rather than send the delivery again.
// What the engine keeps (at most 1,024 outcomes) is lost when the process
// exits, and another engine whose claim reaches its last check before the
// record is stored sends the delivery again, with the same ID.
// An update the store fails within a shared call is applied again on its
// own, so it fails only its own delivery.
//
// A send that has started when ctx ends finishes (the sender's context
// does not end with ctx; [WithSendTimeout] bounds it) and is recorded; no
// new send starts after ctx ends, and Tick returns ctx's error with the
// number the sender accepted, also when the store call that ctx's end cut
// short failed with an error of the store's own. Tick also prunes expired
// state from the store, at most once per prune interval. It returns the
// first store error it meets, after which it starts no new send;
// deliveries it had claimed but not sent are released for the next Tick.
// A panic during a Tick (an observer's, the store's, the directory's), on
// any of the goroutines it sends on, stops new sends and comes out of
// Tick, on its caller's goroutine, once the sends in progress are
// recorded; the engine stays usable if the caller recovers it.
//
// Call Tick from a scheduler of your own, or let [Engine.Run] call it, not
// both: a Tick while Run runs is safe (its claims exclude Run's, as two
// engines' do), but its sends come on top of Run's send concurrency.
func (e *Engine) Tick(ctx context.Context) (int, error) {
	if ctx == nil {
		return 0, errNilContext("Tick")
	}
	return e.tick(ctx, nil)
}

// tick is Tick, with the engine's send concurrency in slots, or, for one
// of Run's Ticks (rt not nil), with the slots rt holds.
func (e *Engine) tick(ctx context.Context, rt *runTick) (int, error) {
	now := e.cfg.clock.Now()
	e.lastTick.Store(now.UnixNano())
	e.overdueLogged.Store(false)
	if _, err := e.current(ctx); err != nil {
		return 0, fmt.Errorf("connector: tick: %w", cutShort(ctx, err))
	}
	e.maybeFlushTallies(ctx, now)
	if err := e.maybePrune(ctx, now); err != nil {
		return 0, err
	}
	n, batch := e.cfg.concurrency, e.cfg.batch
	if rt != nil {
		n = rt.held
		if n < e.cfg.concurrency {
			// The other slots send for other Ticks: what this one
			// claimed past its slots would wait for them, while those
			// slots, come free, find nothing due to claim.
			batch = min(batch, n)
		}
	}
	w := e.newCourier(ctx, now, n, batch)
	w.rt = rt
	e.sending.add(w)
	defer e.sending.remove(w) // a Tick that unwinds too: its sends are no longer in progress
	n, err := w.run()
	// Off the engine's list before the pool may hand it to another Tick.
	e.sending.remove(w)
	// Not deferred: a Tick that unwinds (a panic, recovered by the host)
	// may leave goroutines at work on the courier, which is dropped
	// rather than handed to the next Tick.
	w.release()
	return n, err
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
// about the user: their zone (and whether the directory gave it) and, when
// c re-checks its audience, whether they are still in it.
func (e *Engine) askDirectory(ctx context.Context, c *rule.Campaign, userID string) (loc *time.Location, byDirectory, in bool, err error) {
	loc = e.cfg.location
	if e.needsLocationAtSend(c) {
		if loc, byDirectory, err = e.location(ctx, userID); err != nil {
			return nil, false, false, err
		}
	}
	if !c.RecheckAudience {
		return loc, byDirectory, true, nil
	}
	in, err = e.inSegment(ctx, userID, c.Audience)
	return loc, byDirectory, in, err
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
