package connector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	w.e, w.snap, w.ctx = e, snap, wctx
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

// deliverAll delivers claims in order, releasing them instead once ctx
// ends, a delivery fails on a store error, or another worker failed.
func (w *courier) deliverAll(ctx context.Context, claims []*store.Claim, failed *atomic.Bool) (int, error) {
	sent := 0
	var firstErr error
	for i := range claims {
		if firstErr != nil || ctx.Err() != nil || (failed != nil && failed.Load()) {
			w.releaseAll(claims[i:])
			break
		}
		ok, err := w.deliver(ctx, claims[i])
		if ok {
			sent++
		}
		firstErr = err
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return sent, firstErr
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

// courier takes one Tick's claims through their steps. Its update
// function is bound once, so the steps allocate nothing of their own;
// couriers are pooled.
type courier struct {
	e     *Engine
	snap  *snapshot
	ctx   context.Context // for store calls that must happen even if Tick's context ends
	token uint64

	// The step in progress and what it needs.
	step    step
	c       *store.Claim
	camp    *campaign
	now     time.Time
	loc     *time.Location
	reason  rule.Reason
	until   time.Time
	cause   error
	sendErr error
	enroll  *tracker

	// Its outcome.
	d   Delivery
	ok  bool
	dec []rule.Decision

	order []*store.Claim // the batch, in due order
	apply func(u *store.UserState, duplicate bool)
}

type step uint8

const (
	stepConfirm  step = iota // check and mark as sending, or hold out
	stepRecord               // the send's outcome
	stepDefer                // move to c.until, or drop
	stepPostpone             // the directory failed: retry later
	stepRelease              // give the claim back
	stepLater                // unknown campaign: wait for a refresh
)

var couriers = sync.Pool{New: func() any {
	w := &courier{}
	w.apply = w.update
	return w
}}

func (w *courier) release() {
	clear(w.dec[:cap(w.dec)])
	clear(w.order[:cap(w.order)])
	*w = courier{dec: w.dec[:0], order: w.order[:0], apply: w.apply}
	couriers.Put(w)
}

// deliver takes one claimed delivery through the send-time checks, the
// send and its record, and reports whether the sender accepted it.
func (w *courier) deliver(ctx context.Context, c *store.Claim) (bool, error) {
	e := w.e
	w.c, w.now = c, e.cfg.clock.Now()
	w.camp = w.snap.campaigns[c.Pending.CampaignID]
	if w.camp == nil {
		// Scheduled by an engine that knows a newer campaign set: leave it
		// to the next Tick, which refreshes.
		return false, w.run(ctx, stepLater)
	}
	def := &w.camp.Campaign
	loc, inAudience, err := e.askDirectory(ctx, def, c.UserID)
	if err != nil {
		w.cause = err
		return false, w.run(ctx, stepPostpone)
	}
	w.loc = loc
	if reason, until := e.sendTimeCheck(def, loc, w.now, inAudience); reason != "" {
		w.reason, w.until = reason, until
		return false, w.run(ctx, stepDefer)
	}
	if def.RateLimit > 0 && !c.Pending.Control {
		minute := w.now.Truncate(time.Minute)
		key := "rate:" + def.ID + ":" + strconv.FormatInt(minute.Unix(), 10)
		ok, err := e.store.Take(ctx, e.cfg.namespace, key, int64(def.RateLimit), w.now, minute.Add(2*time.Minute))
		if err != nil {
			w.releaseAll([]*store.Claim{c})
			return false, fmt.Errorf("connector: tick: rate limit of %q: %w", def.ID, err)
		}
		if !ok {
			w.reason, w.until = rule.ReasonRateLimited, minute.Add(time.Minute)
			return false, w.run(ctx, stepDefer)
		}
	}
	if c.Pending.Control {
		ev := event.Event{ID: "control:" + c.Pending.ID, UserID: c.UserID, Kind: event.ControlGroupEnrolled,
			CampaignID: def.ID, Time: w.now}
		if w.enroll, err = e.prepare(ctx, w.snap, &ev, w.now, true); err != nil {
			w.cause = err
			return false, w.run(ctx, stepPostpone)
		}
		defer func() {
			if w.enroll != nil {
				w.enroll.release()
				w.enroll = nil
			}
		}()
	}
	if err := w.run(ctx, stepConfirm); err != nil || !w.ok {
		return false, err
	}
	if w.enroll != nil && w.enroll.scheduled && w.enroll.earliest < e.armed.Load() {
		e.signal()
	}
	d := w.d
	w.sendErr = e.callSender(ctx, d)
	// The outcome is recorded even if ctx ended during the send: the
	// message may be out, and forgetting that would send it again.
	w.now = e.cfg.clock.Now()
	return w.sendErr == nil, w.run(w.ctx, stepRecord)
}

// run applies step to the claimed delivery under the user's lock and hands
// the decisions it took to the observers.
func (w *courier) run(ctx context.Context, s step) error {
	w.step = s
	if s != stepConfirm && s != stepRecord {
		w.now = w.e.cfg.clock.Now()
	}
	err := w.e.store.Update(ctx, w.e.cfg.namespace, w.c.UserID, w.now, store.Dedup{}, w.apply)
	if err != nil {
		return fmt.Errorf("connector: tick: delivery %s: %w", w.c.Pending.ID, err)
	}
	w.e.observeAll(w.dec)
	return nil
}

// update is the atomic part of each step. It must be deterministic: a SQL
// store may run it twice.
func (w *courier) update(u *store.UserState, _ bool) {
	w.ok, w.dec = false, w.dec[:0]
	i := u.Find(w.c.Pending.ID)
	mine := i >= 0 && u.Pending[i].Token == w.token
	switch {
	case w.step == stepRecord:
		w.record(u, i, mine)
	case !mine: // cancelled meanwhile, or the lease went to another engine
	case w.step == stepConfirm:
		w.confirm(u, i)
	case w.step == stepDefer:
		w.deferOrDrop(u, i)
	case w.step == stepPostpone:
		w.postpone(u, i)
	case w.step == stepRelease:
		if p := u.Pending[i]; !p.Sending {
			p.Token, p.ReadyAt = 0, w.now
		}
	case w.step == stepLater:
		p := u.Pending[i]
		p.Token, p.ReadyAt = 0, w.now.Add(time.Second)
	}
	w.e.appendLog(u, w.now, w.dec...)
}

// note records a decision about pending delivery p.
func (w *courier) note(kind rule.DecisionKind, reason rule.Reason, p *store.Pending, detail string) {
	if !w.e.observed {
		return
	}
	d := pendingDecision(kind, reason, p, w.now)
	d.Detail = detail
	w.dec = append(w.dec, d)
}

// confirm re-checks a claimed delivery right before the send and marks it
// as sending: from then on an exception can no longer stop it. The
// delivery is not sent when its follow-up is no longer active in this
// activation (cancelled) or a frequency cap suppresses it; a control-group
// member is held out: recorded as received, with control_group_enrolled
// applied in the same update.
func (w *courier) confirm(u *store.UserState, i int) {
	p := u.Pending[i]
	switch {
	case w.snap.stale(p):
		u.RemovePending(i)
		w.note(rule.Cancelled, rule.ReasonCampaignStopped, p, "")
		return
	case p.Control:
		u.RemovePending(i)
		u.SetReceipt(store.Receipt{CampaignID: p.CampaignID, At: w.now, Expires: w.e.receiptExpiry(&w.camp.Campaign, w.now)})
		w.note(rule.HeldOut, rule.ReasonControlGroup, p, "")
		if w.enroll != nil {
			w.enroll.update(u, false)
			w.dec = append(w.dec, w.enroll.decisions...)
		}
		return
	}
	if cap, capped := w.e.capped(u, &w.camp.Campaign, p.ID, w.now, w.loc); capped {
		u.RemovePending(i)
		w.note(rule.Suppressed, rule.ReasonFrequencyCapped, p, "cap "+cap.String())
		return
	}
	p.Sending = true
	p.Attempt++
	if p.ReadyAt.Sub(w.now) < w.e.cfg.lease/2 {
		// The batch took a while: renew the lease for the send, so that no
		// other engine takes the delivery while it is being sent.
		p.ReadyAt = w.now.Add(w.e.cfg.lease)
	}
	w.d = Delivery{
		ID:         p.ID,
		CampaignID: p.CampaignID,
		UserID:     w.c.UserID,
		Channel:    w.camp.Campaign.Channel,
		Trigger:    p.Trigger,
		DueAt:      p.DueAt,
		Attempt:    p.Attempt,
		Message:    w.camp.Campaign.Message,
	}
	w.ok = true
}

// record stores the outcome of a send: received (even if the delivery was
// cancelled during the send), or cancelled (an exception arrived during a
// send that failed), failed (the last attempt), or retried with backoff.
func (w *courier) record(u *store.UserState, i int, mine bool) {
	if w.sendErr == nil {
		if mine {
			u.RemovePending(i)
		}
		camp := w.e.snap.Load().campaigns[w.d.CampaignID]
		var def *rule.Campaign
		if camp != nil {
			def = &camp.Campaign
			w.e.recordSend(u, def, w.now)
		}
		u.SetReceipt(store.Receipt{CampaignID: w.d.CampaignID, At: w.now, Expires: w.e.receiptExpiry(def, w.now)})
		w.noteSent(rule.Delivered, "", "")
		return
	}
	if !mine {
		return
	}
	p := u.Pending[i]
	switch {
	case p.CancelOnFailure:
		u.RemovePending(i)
		w.noteSent(rule.Cancelled, rule.ReasonException, "an exception arrived during a send that failed: "+w.sendErr.Error())
	case p.Attempt >= w.e.cfg.retry.MaxAttempts:
		u.RemovePending(i)
		w.noteSent(rule.Failed, rule.ReasonSendError, w.sendErr.Error())
	default:
		p.Sending, p.Token = false, 0
		p.ReadyAt = w.now.Add(w.e.cfg.retry.backoff(p.Attempt))
		w.noteSent(rule.Retried, rule.ReasonSendError, w.sendErr.Error()+"; next attempt at "+stamp(p.ReadyAt))
	}
}

func (w *courier) noteSent(kind rule.DecisionKind, reason rule.Reason, detail string) {
	if !w.e.observed {
		return
	}
	d := w.d
	w.dec = append(w.dec, rule.Decision{
		Kind: kind, Reason: reason, CampaignID: d.CampaignID, UserID: d.UserID,
		EventID: d.Trigger.ID, EventKind: d.Trigger.Kind, EventTime: d.Trigger.Time,
		DeliveryID: d.ID, DueAt: d.DueAt, Attempt: d.Attempt, Detail: detail, At: w.now,
	})
}

// deferOrDrop moves the delivery to w.until (a Deferred decision), or drops
// it (Suppressed) when until is zero or further than the maximum deferral
// past its due time. A dropped delivery does not count as received.
func (w *courier) deferOrDrop(u *store.UserState, i int) {
	p := u.Pending[i]
	if !w.until.IsZero() && w.until.Sub(p.DueAt) <= w.e.cfg.maxDeferral {
		p.Token, p.ReadyAt = 0, w.until
		w.note(rule.Deferred, w.reason, p, "until "+stamp(w.until))
		return
	}
	u.RemovePending(i)
	detail := ""
	if !w.until.IsZero() {
		detail = "would wait past the maximum deferral of " + w.e.cfg.maxDeferral.String()
	}
	w.note(rule.Suppressed, w.reason, p, detail)
}

// postpone retries the delivery later because the directory failed; after
// the maximum deferral it fails.
func (w *courier) postpone(u *store.UserState, i int) {
	p := u.Pending[i]
	next := w.now.Add(w.e.cfg.retry.backoff(p.Attempt + 1))
	if next.Sub(p.DueAt) > w.e.cfg.maxDeferral {
		u.RemovePending(i)
		w.note(rule.Failed, rule.ReasonDirectoryError, p, w.cause.Error())
		return
	}
	p.Token, p.ReadyAt = 0, next
	w.note(rule.Retried, rule.ReasonDirectoryError, p, w.cause.Error()+"; next attempt at "+stamp(next))
}

// releaseAll hands claimed deliveries back before their lease ends (Tick is
// stopping early), so another Tick need not wait for the lease. Best
// effort: if it fails, the lease runs out instead.
func (w *courier) releaseAll(claims []*store.Claim) {
	ctx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
	defer cancel()
	for _, c := range claims {
		w.c = c
		_ = w.run(ctx, stepRelease)
	}
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
