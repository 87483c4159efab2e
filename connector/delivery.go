package connector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Tick sends every delivery due at the clock's now and returns how many the
// sender accepted (SPEC.md R10).
//
// Each due delivery is claimed with a lease, checked once more right
// before the sender is called (it may have been cancelled by an exception,
// or its follow-up stopped, since it was claimed), sent outside any lock,
// and then recorded: delivered (the user has received it, at the clock's
// time after the send), retried later with backoff, or failed after the
// last attempt. If the process dies between the claim and the record, the
// delivery is sent again after its lease, with the same ID.
//
// Tick also prunes expired state from the store, at most once per prune
// interval. It returns the first store error it meets; deliveries it had
// claimed but not sent are released for the next Tick.
func (e *Engine) Tick(ctx context.Context) (int, error) {
	now := e.cfg.clock.Now()
	snap, err := e.current(ctx)
	if err != nil {
		return 0, fmt.Errorf("connector: tick: %w", err)
	}
	if err := e.maybePrune(ctx, now); err != nil {
		return 0, err
	}
	sent := 0
	for {
		token := newToken()
		claims, err := e.store.Claim(ctx, e.cfg.namespace, now, e.cfg.lease, e.cfg.batch, token)
		if err != nil {
			return sent, fmt.Errorf("connector: tick: claiming due deliveries: %w", err)
		}
		// Send in due order (then by user and ID): stores hand claims out
		// roughly ordered, and a fixed order keeps simulations reproducible.
		slices.SortFunc(claims, compareClaims)
		for i := range claims {
			if err := ctx.Err(); err != nil {
				e.release(ctx, claims[i:], token)
				return sent, err
			}
			ok, err := e.deliver(ctx, snap, &claims[i], token)
			if ok {
				sent++
			}
			if err != nil {
				e.release(ctx, claims[i+1:], token)
				return sent, err
			}
		}
		if len(claims) < e.cfg.batch {
			return sent, nil
		}
	}
}

func compareClaims(a, b store.Claim) int {
	if c := a.Pending.DueAt.Compare(b.Pending.DueAt); c != 0 {
		return c
	}
	if c := strings.Compare(a.UserID, b.UserID); c != 0 {
		return c
	}
	return strings.Compare(a.Pending.ID, b.Pending.ID)
}

// deliver confirms, sends and records one claimed delivery, and reports
// whether the sender accepted it.
func (e *Engine) deliver(ctx context.Context, snap *snapshot, c *store.Claim, token uint64) (bool, error) {
	d, ok, err := e.confirm(ctx, snap, c, token)
	if err != nil || !ok {
		return false, err
	}
	sendErr := e.callSender(ctx, d)
	// The outcome is recorded even if ctx ended during the send: the
	// message may be out, and forgetting that would send it again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := e.record(rctx, c, token, d, sendErr); err != nil {
		return sendErr == nil, err
	}
	return sendErr == nil, nil
}

// confirm re-checks a claimed delivery right before the send, under the
// user's lock, and marks it as sending: from then on an exception can no
// longer stop it. It reports false when the delivery must not be sent: it
// was cancelled, its lease was lost to another engine, or its follow-up is
// no longer active in this activation (which cancels it).
func (e *Engine) confirm(ctx context.Context, snap *snapshot, c *store.Claim, token uint64) (Delivery, bool, error) {
	now := e.cfg.clock.Now()
	var (
		d   Delivery
		ok  bool
		dec []rule.Decision
	)
	err := e.store.Update(ctx, e.cfg.namespace, c.UserID, now, store.Dedup{}, func(u *store.UserState, _ bool) {
		ok, dec = false, dec[:0]
		i := u.Find(c.Pending.ID)
		if i < 0 || u.Pending[i].Token != token {
			return
		}
		p := u.Pending[i]
		camp := snap.campaigns[p.CampaignID]
		if camp == nil {
			// Scheduled by an engine that knows a newer campaign set:
			// leave it to the next Tick, which refreshes.
			p.Token, p.ReadyAt = 0, now.Add(time.Second)
			return
		}
		if snap.stale(p) {
			u.RemovePending(i)
			dec = append(dec, pendingDecision(rule.Cancelled, rule.ReasonCampaignStopped, p, now))
			e.appendLog(u, now, dec...)
			return
		}
		p.Sending = true
		p.Attempt++
		d = Delivery{
			ID:         p.ID,
			CampaignID: p.CampaignID,
			UserID:     c.UserID,
			Trigger:    p.Trigger,
			DueAt:      p.DueAt,
			Attempt:    p.Attempt,
			Message:    camp.Campaign.Message,
		}
		ok = true
	})
	if err != nil {
		return Delivery{}, false, fmt.Errorf("connector: tick: confirming delivery %s: %w", c.Pending.ID, err)
	}
	e.observeAll(dec)
	return d, ok, nil
}

// record stores the outcome of a send.
func (e *Engine) record(ctx context.Context, c *store.Claim, token uint64, d Delivery, sendErr error) error {
	now := e.cfg.clock.Now()
	var dec []rule.Decision
	snap := e.snap.Load()
	err := e.store.Update(ctx, e.cfg.namespace, c.UserID, now, store.Dedup{}, func(u *store.UserState, _ bool) {
		dec = dec[:0]
		i := u.Find(d.ID)
		mine := i >= 0 && u.Pending[i].Token == token
		if sendErr == nil {
			if mine {
				u.RemovePending(i)
			}
			// Received, even if the delivery was cancelled during the send.
			u.SetReceipt(store.Receipt{CampaignID: d.CampaignID, At: now, Expires: receiptExpiry(snap, d.CampaignID, now)})
			dec = append(dec, deliveryDecision(rule.Delivered, "", d, now))
		} else if mine {
			p := u.Pending[i]
			switch {
			case p.CancelOnFailure:
				u.RemovePending(i)
				x := deliveryDecision(rule.Cancelled, rule.ReasonException, d, now)
				x.Detail = "an exception arrived during a send that failed: " + sendErr.Error()
				dec = append(dec, x)
			case p.Attempt >= e.cfg.retry.MaxAttempts:
				u.RemovePending(i)
				x := deliveryDecision(rule.Failed, rule.ReasonSendError, d, now)
				x.Detail = sendErr.Error()
				dec = append(dec, x)
			default:
				p.Sending, p.Token = false, 0
				p.ReadyAt = now.Add(e.cfg.retry.backoff(p.Attempt))
				x := deliveryDecision(rule.Retried, rule.ReasonSendError, d, now)
				x.Detail = sendErr.Error() + "; next attempt at " + p.ReadyAt.UTC().Format(time.RFC3339)
				dec = append(dec, x)
			}
		}
		e.appendLog(u, now, dec...)
	})
	if err != nil {
		return fmt.Errorf("connector: tick: recording delivery %s: %w", d.ID, err)
	}
	e.observeAll(dec)
	return nil
}

// release hands claimed deliveries back before their lease ends (Tick is
// stopping early), so another Tick need not wait for the lease.
func (e *Engine) release(ctx context.Context, claims []store.Claim, token uint64) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now := e.cfg.clock.Now()
	for _, c := range claims {
		_ = e.store.Update(rctx, e.cfg.namespace, c.UserID, now, store.Dedup{}, func(u *store.UserState, _ bool) {
			if i := u.Find(c.Pending.ID); i >= 0 && u.Pending[i].Token == token && !u.Pending[i].Sending {
				u.Pending[i].Token, u.Pending[i].ReadyAt = 0, now
			}
		}) // best effort: if it fails, the lease runs out instead
	}
}

// callSender calls the sender, turning a panic into an error.
func (e *Engine) callSender(ctx context.Context, d Delivery) (err error) {
	if in := e.cfg.instrument; in != nil {
		var end func(error)
		ctx, end = in.StartSend(ctx, d)
		defer func() { end(err) }()
	}
	if e.cfg.sendTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.cfg.sendTimeout)
		defer cancel()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrSenderPanic, r)
		}
	}()
	return e.sender.Send(ctx, d)
}

func deliveryDecision(kind rule.DecisionKind, reason rule.Reason, d Delivery, now time.Time) rule.Decision {
	return rule.Decision{
		Kind: kind, Reason: reason, CampaignID: d.CampaignID, UserID: d.UserID,
		EventID: d.Trigger.ID, EventKind: d.Trigger.Kind, EventTime: d.Trigger.Time,
		DeliveryID: d.ID, DueAt: d.DueAt, Attempt: d.Attempt, At: now,
	}
}

// receiptExpiry is when a receipt stops mattering: after the
// re-eligibility window, or never for once-only follow-ups.
func receiptExpiry(snap *snapshot, campaignID string, at time.Time) time.Time {
	if c := snap.campaigns[campaignID]; c != nil {
		if w, ok := c.Campaign.Reeligibility.Window(); ok {
			return at.Add(w)
		}
	}
	return time.Time{}
}

// backoff returns the wait after failed attempt n (from 1).
func (r RetryPolicy) backoff(n int) time.Duration {
	d := r.Base
	for i := 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	d = min(d, r.Max)
	if r.Jitter > 0 {
		d -= time.Duration(rand.Float64() * r.Jitter * float64(d))
	}
	return max(d, time.Millisecond)
}

// newToken returns a random non-zero claim token.
func newToken() uint64 {
	for {
		if t := rand.Uint64(); t != 0 {
			return t
		}
	}
}

// maybePrune sweeps expired state at most once per prune interval.
func (e *Engine) maybePrune(ctx context.Context, now time.Time) error {
	last := e.lastPrune.Load()
	if now.UnixNano()-last < int64(e.cfg.pruneEvery) || !e.lastPrune.CompareAndSwap(last, now.UnixNano()) {
		return nil
	}
	logBefore := now
	if e.cfg.logMax > 0 {
		logBefore = now.Add(-e.cfg.logRetention)
	}
	if _, err := e.store.Prune(ctx, e.cfg.namespace, now, logBefore); err != nil {
		return fmt.Errorf("connector: tick: pruning: %w", err)
	}
	return nil
}
