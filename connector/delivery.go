package connector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
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
// If the process dies between the claim and the record, the delivery is
// sent again after its lease, with the same ID.
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

// deliver takes one claimed delivery through the send-time checks, the
// send and its record, and reports whether the sender accepted it.
func (e *Engine) deliver(ctx context.Context, snap *snapshot, c *store.Claim, token uint64) (bool, error) {
	now := e.cfg.clock.Now()
	camp := snap.campaigns[c.Pending.CampaignID]
	if camp == nil {
		// Scheduled by an engine that knows a newer campaign set: leave it
		// to the next Tick, which refreshes.
		return false, e.settle(ctx, c, token, func(_ *store.UserState, _ int, p *store.Pending) []rule.Decision {
			p.Token, p.ReadyAt = 0, now.Add(time.Second)
			return nil
		})
	}
	def := &camp.Campaign
	loc, inAudience, err := e.askDirectory(ctx, def, c.UserID)
	if err != nil {
		return false, e.postpone(ctx, c, token, now, err)
	}
	if reason, until := e.sendTimeCheck(def, loc, now, inAudience); reason != "" {
		return false, e.deferOrDrop(ctx, c, token, now, reason, until)
	}
	if def.RateLimit > 0 && !c.Pending.Control {
		minute := now.Truncate(time.Minute)
		key := "rate:" + def.ID + ":" + strconv.FormatInt(minute.Unix(), 10)
		ok, err := e.store.Take(ctx, e.cfg.namespace, key, int64(def.RateLimit), minute.Add(2*time.Minute))
		if err != nil {
			e.release(ctx, []store.Claim{*c}, token)
			return false, fmt.Errorf("connector: tick: rate limit of %q: %w", def.ID, err)
		}
		if !ok {
			return false, e.deferOrDrop(ctx, c, token, now, rule.ReasonRateLimited, minute.Add(time.Minute))
		}
	}
	d, ok, err := e.confirm(ctx, snap, c, token, loc)
	if err != nil || !ok {
		return false, err
	}
	sendErr := e.callSender(ctx, d)
	// The outcome is recorded even if ctx ended during the send: the
	// message may be out, and forgetting that would send it again.
	return sendErr == nil, e.record(context.WithoutCancel(ctx), c, token, d, sendErr)
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

// deferOrDrop moves a claimed delivery to until (a Deferred decision), or
// drops it (Suppressed) when until is zero or further than the maximum
// deferral past its due time. A dropped delivery does not count as received.
func (e *Engine) deferOrDrop(ctx context.Context, c *store.Claim, token uint64, now time.Time, reason rule.Reason, until time.Time) error {
	return e.settle(ctx, c, token, func(u *store.UserState, i int, p *store.Pending) []rule.Decision {
		if !until.IsZero() && until.Sub(p.DueAt) <= e.cfg.maxDeferral {
			p.Token, p.ReadyAt = 0, until
			d := pendingDecision(rule.Deferred, reason, p, now)
			d.Detail = "until " + stamp(until)
			return []rule.Decision{d}
		}
		u.RemovePending(i)
		d := pendingDecision(rule.Suppressed, reason, p, now)
		if !until.IsZero() {
			d.Detail = "would wait past the maximum deferral of " + e.cfg.maxDeferral.String()
		}
		return []rule.Decision{d}
	})
}

// postpone retries a delivery later because the directory failed; after the
// maximum deferral it fails.
func (e *Engine) postpone(ctx context.Context, c *store.Claim, token uint64, now time.Time, cause error) error {
	return e.settle(ctx, c, token, func(u *store.UserState, i int, p *store.Pending) []rule.Decision {
		next := now.Add(e.cfg.retry.backoff(p.Attempt + 1))
		if next.Sub(p.DueAt) > e.cfg.maxDeferral {
			u.RemovePending(i)
			d := pendingDecision(rule.Failed, rule.ReasonDirectoryError, p, now)
			d.Detail = cause.Error()
			return []rule.Decision{d}
		}
		p.Token, p.ReadyAt = 0, next
		d := pendingDecision(rule.Retried, rule.ReasonDirectoryError, p, now)
		d.Detail = cause.Error() + "; next attempt at " + stamp(next)
		return []rule.Decision{d}
	})
}

// settle runs fn on the claimed delivery, under the user's lock, if this
// engine still holds its claim; fn returns the decisions to record.
func (e *Engine) settle(ctx context.Context, c *store.Claim, token uint64, fn func(u *store.UserState, i int, p *store.Pending) []rule.Decision) error {
	now := e.cfg.clock.Now()
	var dec []rule.Decision
	err := e.store.Update(ctx, e.cfg.namespace, c.UserID, now, store.Dedup{}, func(u *store.UserState, _ bool) {
		dec = nil
		if i := u.Find(c.Pending.ID); i >= 0 && u.Pending[i].Token == token {
			dec = fn(u, i, u.Pending[i])
			e.appendLog(u, now, dec...)
		}
	})
	if err != nil {
		return fmt.Errorf("connector: tick: delivery %s: %w", c.Pending.ID, err)
	}
	e.observeAll(dec)
	return nil
}

// confirm re-checks a claimed delivery right before the send, under the
// user's lock, and marks it as sending: from then on an exception can no
// longer stop it. It reports false when the delivery must not be sent: it
// was cancelled, its lease was lost to another engine, its follow-up is no
// longer active in this activation (which cancels it), a frequency cap
// suppresses it, or the user is in its control group (held out: recorded
// as received, and control_group_enrolled emitted in the same update).
func (e *Engine) confirm(ctx context.Context, snap *snapshot, c *store.Claim, token uint64, loc *time.Location) (Delivery, bool, error) {
	now := e.cfg.clock.Now()
	camp := snap.campaigns[c.Pending.CampaignID]
	var enroll *tracker
	if c.Pending.Control {
		ev := event.Event{ID: "control:" + c.Pending.ID, UserID: c.UserID, Kind: event.ControlGroupEnrolled,
			CampaignID: camp.Campaign.ID, Time: now}
		var err error
		if enroll, err = e.prepare(ctx, snap, ev, now, true); err != nil {
			return Delivery{}, false, e.postpone(ctx, c, token, now, err)
		}
		if enroll != nil {
			defer enroll.release()
		}
	}
	var (
		d  Delivery
		ok bool
	)
	err := e.settle(ctx, c, token, func(u *store.UserState, i int, p *store.Pending) []rule.Decision {
		ok = false
		switch {
		case snap.stale(p):
			u.RemovePending(i)
			return []rule.Decision{pendingDecision(rule.Cancelled, rule.ReasonCampaignStopped, p, now)}
		case p.Control:
			return e.holdOut(u, i, p, camp, enroll, now)
		}
		if cap, capped := e.capped(u, &camp.Campaign, p.ID, now, loc); capped {
			u.RemovePending(i)
			x := pendingDecision(rule.Suppressed, rule.ReasonFrequencyCapped, p, now)
			x.Detail = "cap " + cap.String()
			return []rule.Decision{x}
		}
		p.Sending = true
		p.Attempt++
		d = Delivery{
			ID:         p.ID,
			CampaignID: p.CampaignID,
			UserID:     c.UserID,
			Channel:    camp.Campaign.Channel,
			Trigger:    p.Trigger,
			DueAt:      p.DueAt,
			Attempt:    p.Attempt,
			Message:    camp.Campaign.Message,
		}
		ok = true
		return nil
	})
	if err == nil && enroll != nil && enroll.scheduled && enroll.earliest < e.armed.Load() {
		e.signal()
	}
	return d, ok, err
}

// holdOut records a control-group member's delivery: nothing is sent, the
// user counts as having received the follow-up, and the engine's
// control_group_enrolled event is applied in the same update.
func (e *Engine) holdOut(u *store.UserState, i int, p *store.Pending, camp *campaign, enroll *tracker, now time.Time) []rule.Decision {
	u.RemovePending(i)
	u.SetReceipt(store.Receipt{CampaignID: p.CampaignID, At: now, Expires: receiptExpiry(&camp.Campaign, now)})
	dec := []rule.Decision{pendingDecision(rule.HeldOut, rule.ReasonControlGroup, p, now)}
	if enroll != nil {
		enroll.update(u, false)
		dec = append(dec, enroll.decisions...)
	}
	return dec
}

// record stores the outcome of a send.
func (e *Engine) record(ctx context.Context, c *store.Claim, token uint64, d Delivery, sendErr error) error {
	now := e.cfg.clock.Now()
	camp := e.snap.Load().campaigns[d.CampaignID]
	var dec []rule.Decision
	err := e.store.Update(ctx, e.cfg.namespace, c.UserID, now, store.Dedup{}, func(u *store.UserState, _ bool) {
		dec = dec[:0]
		i := u.Find(d.ID)
		mine := i >= 0 && u.Pending[i].Token == token
		if sendErr == nil {
			if mine {
				u.RemovePending(i)
			}
			// Received, even if the delivery was cancelled during the send.
			var def *rule.Campaign
			if camp != nil {
				def = &camp.Campaign
				e.recordSend(u, def, now)
			}
			u.SetReceipt(store.Receipt{CampaignID: d.CampaignID, At: now, Expires: receiptExpiry(def, now)})
			dec = append(dec, deliveryDecision(rule.Delivered, "", d, now))
		} else if mine {
			dec = append(dec, e.failed(u, i, d, sendErr, now))
		}
		e.appendLog(u, now, dec...)
	})
	if err != nil {
		return fmt.Errorf("connector: tick: recording delivery %s: %w", d.ID, err)
	}
	e.observeAll(dec)
	return nil
}

// failed handles a send error: cancel (an exception arrived during the
// send), give up (last attempt) or retry with backoff.
func (e *Engine) failed(u *store.UserState, i int, d Delivery, sendErr error, now time.Time) rule.Decision {
	p := u.Pending[i]
	switch {
	case p.CancelOnFailure:
		u.RemovePending(i)
		x := deliveryDecision(rule.Cancelled, rule.ReasonException, d, now)
		x.Detail = "an exception arrived during a send that failed: " + sendErr.Error()
		return x
	case p.Attempt >= e.cfg.retry.MaxAttempts:
		u.RemovePending(i)
		x := deliveryDecision(rule.Failed, rule.ReasonSendError, d, now)
		x.Detail = sendErr.Error()
		return x
	}
	p.Sending, p.Token = false, 0
	p.ReadyAt = now.Add(e.cfg.retry.backoff(p.Attempt))
	x := deliveryDecision(rule.Retried, rule.ReasonSendError, d, now)
	x.Detail = sendErr.Error() + "; next attempt at " + stamp(p.ReadyAt)
	return x
}

// release hands claimed deliveries back before their lease ends (Tick is
// stopping early), so another Tick need not wait for the lease.
func (e *Engine) release(ctx context.Context, claims []store.Claim, token uint64) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now := e.cfg.clock.Now()
	for i := range claims {
		_ = e.settle(rctx, &claims[i], token, func(_ *store.UserState, _ int, p *store.Pending) []rule.Decision {
			if !p.Sending {
				p.Token, p.ReadyAt = 0, now
			}
			return nil
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
// re-eligibility window, or never for once-only follow-ups (and unknown ones).
func receiptExpiry(c *rule.Campaign, at time.Time) time.Time {
	if c != nil {
		if w, ok := c.Reeligibility.Window(); ok {
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
