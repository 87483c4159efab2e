package connector

import (
	"context"
	"errors"
	"fmt"

	"github.com/campaignconnector/campaignconnector/store"
)

// ErrNotSupported: the engine's store does not implement what the call
// needs ([store.Tallier] for [Engine.Tallies], [store.PendingLister] for
// [Engine.PendingDeliveries]).
var ErrNotSupported = errors.New("connector: not supported by the store")

// DefaultPendingPage is the page [Engine.PendingDeliveries] returns when
// the query sets no Limit.
const DefaultPendingPage = 100

// Tallies returns the namespace's decision tallies matching q: per
// follow-up and hour, how many decisions of each kind and reason the
// engines sharing the store took (a cancellation by an exception counted
// per exception). It first flushes this engine's own counts, so that they
// are exact for this engine, unless it is catching up after the store
// failed (a flush sends for about 5 s, and leaves the rest to the next);
// other engines' counts reach the store within seconds: [Engine.Run] flushes them 5 s after its last flush at the
// latest while it has counts, and when it returns; without Run, an
// engine flushes them at its first decision (or [Engine.Tick] with counts
// waiting) 5 s or more after its last flush. A flush that fails keeps
// its counts for the next; with a [store.OnceTallier] (PostgreSQL), a
// batch added although its reply was lost is added once.
//
// Every decision about a user is counted (every kind but [rule.Warned]
// and [rule.Applied], which are about campaigns), whether or not the
// engine has observers; ignored events naming an unknown campaign are
// counted under CampaignID "" (the ID is whatever the host received).
// A delivery suppressed when it came due, after it counted as scheduled,
// is counted under the rule [store.RuleWhenDue], apart from triggers
// suppressed on arrival. The store keeps the tallies for
// [WithTallyRetention].
//
// Errors: [ErrNotSupported] when the store keeps no tallies; an error
// wrapping [store.ErrInvalidQuery] for a query [store.TallyQuery.Validate]
// refuses (an empty range, both CampaignID and CampaignIDs, an empty kind,
// an ID or a kind that is not valid text); ctx's error when it has
// ended before the call (the engine then sends none of its counts) or
// ends while the engine waits for another flush of its counts; the
// store's error, wrapped.
func (e *Engine) Tallies(ctx context.Context, q store.TallyQuery) ([]store.Tally, error) {
	if ctx == nil {
		return nil, errNilContext("Tallies")
	}
	ts, ok := e.store.(store.Tallier)
	if !ok {
		return nil, fmt.Errorf("%w: the store (%T) keeps no decision tallies", ErrNotSupported, e.store)
	}
	if e.tallies != nil {
		// A reader that has given up (a dashboard page past its store
		// timeout) starts no flush: a flush's store call outlives its
		// caller's context by up to tallyFlushTimeout.
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("connector: tallies: %w", err)
		}
		if err := e.tallies.flush(ctx); err != nil {
			return nil, fmt.Errorf("connector: tallies: %w", err)
		}
	}
	out, err := ts.Tallies(ctx, e.cfg.namespace, q)
	if err != nil {
		return nil, fmt.Errorf("connector: tallies: %w", err)
	}
	return out, nil
}

// FlushTallies adds to the store every decision count the engine holds,
// counted up to the call, and returns once the store has them all: the
// last step of the shutdown of an engine that does not Run (a replica
// that only tracks, or one whose host calls Tick), whose counts otherwise
// reach the store only at its next decision 5 seconds or more after the
// previous flush. Run flushes its own as it returns, not those of the
// Tracks that come after it: a host whose server handles webhooks until
// after Run has returned calls FlushTallies too, once both have stopped.
//
// It flushes in store calls of at most 4,096 counts, as many as it takes,
// for as long as ctx lasts: at shutdown, pass a context of its own rather
// than one that has ended (a signal's), with which it flushes nothing. It
// returns nil at once when the store keeps no tallies or the engine counts
// none ([WithoutTallies]). Errors: ctx's error when it ends first, or the
// store's, wrapped and saying how many counts are still held: the engine
// keeps them for its next flush.
func (e *Engine) FlushTallies(ctx context.Context) error {
	if ctx == nil {
		return errNilContext("FlushTallies")
	}
	if e.tallies == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("connector: flushing tallies: %w", err)
	}
	for {
		left, err := e.tallies.flushAll(ctx)
		if err == nil {
			if left == 0 {
				return nil
			}
			if err = ctx.Err(); err == nil {
				continue // a backlog larger than one flush sends
			}
		}
		switch {
		case left < 0:
			return fmt.Errorf("connector: flushing tallies: %w", err)
		default:
			return fmt.Errorf("connector: flushing tallies (%d counts still held): %w", left, err)
		}
	}
}

// PendingDeliveries pages through the namespace's pending deliveries
// (claimed or not) in (DueAt, ID) order, of one follow-up when
// q.CampaignID is set: pass the last one's DueAt and ID as q.AfterDue and
// q.AfterID for the next page; a page shorter than q.Limit is the last. A
// zero Limit means [DefaultPendingPage]; at most [store.MaxPendingPage].
// For dashboards and support tools: the store reads its pending deliveries
// (the memory store all of them) for each page.
//
// Errors: [ErrNotSupported] when the store cannot list pending deliveries
// ([store.PendingLister]); an error wrapping [store.ErrInvalidQuery] for a
// query [store.PendingQuery.Validate] refuses (a Limit out of range, a
// CampaignID or an AfterID that is not valid text); the store's error,
// wrapped.
func (e *Engine) PendingDeliveries(ctx context.Context, q store.PendingQuery) ([]store.Claim, error) {
	if ctx == nil {
		return nil, errNilContext("PendingDeliveries")
	}
	pl, ok := e.store.(store.PendingLister)
	if !ok {
		return nil, fmt.Errorf("%w: the store (%T) cannot list pending deliveries", ErrNotSupported, e.store)
	}
	if q.Limit == 0 {
		q.Limit = DefaultPendingPage
	}
	out, err := pl.ListPending(ctx, e.cfg.namespace, q)
	if err != nil {
		return nil, fmt.Errorf("connector: pending deliveries: %w", err)
	}
	return out, nil
}
