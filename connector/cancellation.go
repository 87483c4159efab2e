package connector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// ErrNotCancelled reports that [Engine.Stop] or [Engine.Archive] (or
// [Engine.Apply] stopping a campaign) changed the campaign's state but did
// not cancel its pending deliveries: the store failed, or ctx ended, in
// between. The campaign is stopped or archived all the same, and the
// deliveries left are never sent: each is cancelled (campaign_stopped)
// when it falls due, or at once by [Engine.CancelPending].
var ErrNotCancelled = errors.New("connector: the state changed, but the pending deliveries were not cancelled")

// CancelPending cancels now what a stop left pending of campaign id,
// rather than each delivery waiting, listed as pending, until it falls
// due: every pending delivery of a stopped or archived campaign and, of an
// active one, those scheduled before its last stop. It finishes a Stop or
// Archive cut short ([ErrNotCancelled]: the store failed, ctx ended, the
// process died), and may be called again until it returns nil; with
// nothing left it cancels nothing. Each delivery is recorded as the stop
// records it (cancelled, campaign_stopped), except those being sent under
// a live lease, whose send records its outcome. Deliveries of a resume
// that overtakes the call stay. An id the engine does not know is refused
// with [ErrUnknownCampaign]; a failure to cancel wraps [ErrNotCancelled],
// that of the campaign's read before it (the store down, ctx ended) too:
// nothing was cancelled, and a call again may finish it.
func (e *Engine) CancelPending(ctx context.Context, id string) error {
	if ctx == nil {
		return errNilContext("CancelPending")
	}
	rec, err := e.Campaign(ctx, id)
	if errors.Is(err, ErrUnknownCampaign) {
		return err
	}
	if err != nil {
		return &notCancelledError{err.Error(), err}
	}
	return e.cancelAll(ctx, cancelOp(rec.State), rec)
}

// cancelOp names the operation whose cancellation a campaign in state
// finishes: "archive" for an archived one, "stop" otherwise.
func cancelOp(state rule.State) string {
	if state == rule.Archived {
		return "archive"
	}
	return "stop"
}

// notCancelledError is an error of cancelAll after the state changed: its
// text is the operation's, and it wraps [ErrNotCancelled] and the cause.
type notCancelledError struct {
	msg string
	err error
}

func (e *notCancelledError) Error() string   { return e.msg }
func (e *notCancelledError) Unwrap() []error { return []error{ErrNotCancelled, e.err} }

// cancelBatch is how many pending deliveries cancelAll has the store
// remove per call when it takes batches ([store.BatchCanceller]), and how
// many decision log writes it hands to one [store.BatchUpdater] call. A
// thousand keeps what a stop holds at once to a few hundred kilobytes
// (the removed deliveries, their decisions and writes) and each store
// call short (one shard's lock, or one transaction of a thousand rows,
// which a store with a single writer holds for milliseconds), while a
// call's fixed cost (a round trip, a walk of the shards the batch spans)
// is spread over enough deliveries that a backlog of a million takes a
// thousand calls.
const cancelBatch = 1000

// cancelAll cancels every pending delivery of follow-up rec after a stop
// or an archive stored it, recording one decision per delivery, except
// for those being sent, whose send records theirs. With a store that
// takes batches it goes a batch at a time, each batch's decisions
// recorded before the next: a store failure, or ctx ending, between two
// batches ends it with [ErrNotCancelled], what was cancelled keeping its
// decisions, and the rest is cancelled as it falls due.
func (e *Engine) cancelAll(ctx context.Context, op string, rec store.CampaignRecord) error {
	id := rec.Campaign.ID
	if _, err := e.adopt(ctx, rec); err != nil {
		return &notCancelledError{fmt.Sprintf("connector: %s %q: %v", op, id, err), err}
	}
	notCancelled := func(err error) error {
		return &notCancelledError{fmt.Sprintf("connector: %s %q: cancelling pending deliveries: %v", op, id, err), err}
	}
	// The leases are judged at the start of the store call that removed
	// the delivery: each delivery is removed at some instant of the call,
	// which may last longer than a lease (CancelCampaign and a follow-up
	// with many deliveries), and a lease that lived at the call's start
	// lived at the removal while its engine renewed it. A batch's own
	// start, not the stop's: a lease that ran out before it has no engine
	// left to record the delivery's outcome, however long ago the stop
	// began.
	bc, ok := e.store.(store.BatchCanceller)
	if !ok {
		start := e.cfg.clock.Now()
		removed, err := e.store.CancelCampaign(ctx, e.cfg.namespace, id)
		if err != nil {
			return notCancelled(err)
		}
		return e.cancelled(ctx, op, id, start, removed)
	}
	var firstErr error
	for cursor := ""; ; {
		start := e.cfg.clock.Now()
		removed, next, err := bc.CancelCampaignBatch(ctx, e.cfg.namespace, id, cursor, cancelBatch)
		if err != nil {
			return notCancelled(err)
		}
		if err := e.cancelled(ctx, op, id, start, removed); err != nil && firstErr == nil {
			firstErr = err
		}
		if next == "" {
			return firstErr
		}
		if next == cursor {
			// A walk that does not move would call the store until ctx
			// ends (a store of the host's with a bug in its cursor).
			return notCancelled(fmt.Errorf("the store's CancelCampaignBatch returned the cursor it was given (%q): its walk does not move", next))
		}
		if err := ctx.Err(); err != nil {
			return notCancelled(err)
		}
		cursor = next
	}
}

// cancelled records the decisions of removed, deliveries of follow-up id
// that operation op removed from the store (with a store call that
// started at start): a tally each, an entry in the user's decision log
// when the engine keeps one, and the observers' call. It returns the
// first error of the log's writes.
func (e *Engine) cancelled(ctx context.Context, op, id string, start time.Time, removed []store.Claim) error {
	now := e.cfg.clock.Now()
	// A delivery being sent under a live lease is left out: the engine
	// sending it records its outcome (delivered if the sender accepts it,
	// cancelled if not), as it finds it gone. One whose lease ran out has
	// no engine left to say so.
	removed = slices.DeleteFunc(removed, func(c store.Claim) bool {
		return c.Pending.Sending && c.Pending.ReadyAt.After(start)
	})
	e.tallyN(id, tcCancelledStopped, now, len(removed), op)
	var firstErr error
	bu, batches := e.store.(store.BatchUpdater)
	var ops []store.Op
	var ds []rule.Decision
	for chunk := range slices.Chunk(removed, cancelBatch) {
		ds = ds[:0]
		for _, c := range chunk {
			d := pendingDecision(rule.Cancelled, rule.ReasonCampaignStopped, &c.Pending, now)
			d.Detail = op
			ds = append(ds, d)
		}
		if e.cfg.logMax > 0 {
			// Record them in the users' logs too, so Explain tells the whole story.
			ops = ops[:0]
			for k, c := range chunk {
				d := ds[k]
				ops = append(ops, store.Op{UserID: c.UserID, Now: now, Fn: func(u *store.UserState, _ bool) {
					e.appendLog(u, now, d)
				}})
			}
			if batches {
				if err := bu.UpdateBatch(ctx, e.cfg.namespace, ops); err != nil && firstErr == nil {
					firstErr = fmt.Errorf("connector: %s %q: logging cancellations: %w", op, id, err)
				}
			} else {
				for _, o := range ops {
					err := e.store.Update(ctx, e.cfg.namespace, o.UserID, now, store.Dedup{}, o.Fn)
					if err != nil && firstErr == nil {
						firstErr = fmt.Errorf("connector: %s %q: logging cancellations: %w", op, id, err)
					}
				}
			}
		}
		for _, d := range ds {
			e.observe(d)
		}
	}
	return firstErr
}
