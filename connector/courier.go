package connector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// A courier takes one worker's claims through their steps, a group at a
// time: the checks that need no lock, one claim after the other; one store
// call confirming every delivery of the group that passed them (with a
// store that takes batches, a transaction or a lock per shard for the
// group instead of one per delivery); the sends, one after the other; one
// store call recording them.
//
// (A user's deliveries may share a group: a frequency cap counts the sends
// in progress with those recorded.) A group's size adapts to the sender:
// it doubles, up to maxGroup, while a group's sends take less than half of
// groupWindow, and halves, down to one, when they take longer. So a delivery is confirmed
// at most about groupWindow before its send, and recorded at most about
// that long after it, whatever the sender's latency.
type courier struct {
	e     *Engine
	snap  *snapshot
	ctx   context.Context // for store calls that must happen even if Tick's context ends
	token uint64
	size  int // deliveries in the next group

	jobs    []*job // the group's, reused from group to group
	ready   []*job // passed the checks: to confirm
	sending []*job // confirmed: sent (or not, if Tick stopped), to record
	ops     []store.Op
	order   []*store.Claim // the batch, in due order
}

const (
	maxGroup    = 32
	groupWindow = 100 * time.Millisecond
)

// job is one claimed delivery on its way through the steps. Its update
// function is bound once (jobs are reused), so the steps allocate nothing
// of their own.
type job struct {
	w    *courier
	step step
	c    *store.Claim
	camp *campaign
	now  time.Time
	loc  *time.Location

	reason  rule.Reason // stepDefer: why, and until when
	until   time.Time
	cause   error // stepPostpone: the directory's error
	sendErr error // stepRecord: the sender's answer
	enroll  *tracker

	// Its outcome.
	d      Delivery
	ok     bool // confirmed: to send
	failed bool // the store failed the last step
	dec    []rule.Decision

	apply func(u *store.UserState, duplicate bool)
}

type step uint8

const (
	stepConfirm  step = iota // check and mark as sending, or hold out
	stepRecord               // the send's outcome
	stepDefer                // move to until, or drop
	stepPostpone             // the directory failed: retry later
	stepRelease              // give the claim back
	stepLater                // unknown campaign: wait for a refresh
)

// errNotSent is the outcome of a confirmed delivery whose send did not
// start: Tick stopped first.
var errNotSent = errors.New("connector: not sent: the tick stopped")

var couriers = sync.Pool{New: func() any { return &courier{} }}

func (w *courier) release() {
	for _, j := range w.jobs {
		j.finish()
		clear(j.dec[:cap(j.dec)])
		*j = job{w: w, dec: j.dec[:0], apply: j.apply}
	}
	clear(w.ready[:cap(w.ready)])
	clear(w.sending[:cap(w.sending)])
	clear(w.ops[:cap(w.ops)])
	clear(w.order[:cap(w.order)])
	*w = courier{jobs: w.jobs, ready: w.ready[:0], sending: w.sending[:0], ops: w.ops[:0], order: w.order[:0]}
	couriers.Put(w)
}

// job returns the courier's k-th job, reset for claim c.
func (w *courier) job(k int, c *store.Claim) *job {
	for len(w.jobs) <= k {
		j := &job{w: w}
		j.apply = j.update
		w.jobs = append(w.jobs, j)
	}
	j := w.jobs[k]
	j.finish()
	// The fields the steps read before they set them; the others (the
	// Delivery, a deferral's reason) are set by the step that uses them.
	j.c, j.now, j.camp, j.loc, j.cause, j.sendErr, j.ok, j.failed, j.dec = c, w.e.cfg.clock.Now(), nil, nil, nil, nil, false, false, j.dec[:0]
	return j
}

// finish releases what the job holds beyond its step.
func (j *job) finish() {
	if j.enroll != nil {
		j.enroll.release()
		j.enroll = nil
	}
}

// deliverAll delivers claims in order, in groups, releasing them instead
// once ctx ends, a delivery fails on a store error, or another worker
// failed.
func (w *courier) deliverAll(ctx context.Context, claims []*store.Claim, failed *atomic.Bool) (int, error) {
	sent := 0
	var firstErr error
	for len(claims) > 0 {
		if firstErr != nil || ctx.Err() != nil || (failed != nil && failed.Load()) {
			w.releaseAll(claims)
			break
		}
		n := min(len(claims), w.size)
		k, err := w.deliverGroup(ctx, claims[:n], failed)
		sent += k
		firstErr = err
		claims = claims[n:]
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return sent, firstErr
}

// deliverGroup delivers a group of claims and returns
// how many the sender accepted, and the first error.
func (w *courier) deliverGroup(ctx context.Context, claims []*store.Claim, failed *atomic.Bool) (int, error) {
	e := w.e
	w.ready = w.ready[:0]
	for k, c := range claims {
		j := w.job(k, c)
		ok, err := j.check(ctx)
		if err != nil {
			// A store error: nothing else of the group is tried.
			for _, r := range w.ready {
				r.finish()
			}
			w.releaseAll(w.claimsOf(w.ready))
			w.releaseAll(claims[k+1:])
			return 0, err
		}
		if ok {
			w.ready = append(w.ready, j)
		}
	}
	if len(w.ready) == 0 {
		return 0, nil
	}
	start := w.ready[0].now
	firstErr := w.runAll(ctx, w.ready, stepConfirm)
	if firstErr != nil {
		// Deliveries whose check failed on a store error are given back.
		var back []*store.Claim
		for _, j := range w.ready {
			if j.failed {
				back = append(back, j.c)
			}
		}
		w.releaseAll(back)
	}
	w.sending = w.sending[:0]
	for _, j := range w.ready {
		if j.ok {
			if j.enroll != nil && j.enroll.scheduled && j.enroll.earliest < e.armed.Load() {
				e.signal()
			}
			w.sending = append(w.sending, j)
		}
		j.finish()
	}
	sent := 0
	for _, j := range w.sending {
		if ctx.Err() != nil || (failed != nil && failed.Load()) {
			j.sendErr = errNotSent
		} else {
			j.sendErr = e.callSender(ctx, j.d)
		}
		// The outcome is recorded even if ctx ended during the send: the
		// message may be out, and forgetting that would send it again.
		j.now = e.cfg.clock.Now()
		if j.sendErr == nil {
			sent++
		}
	}
	if len(w.sending) == 0 {
		return 0, firstErr
	}
	if err := w.runAll(w.ctx, w.sending, stepRecord); firstErr == nil {
		firstErr = err
	}
	switch took := w.sending[len(w.sending)-1].now.Sub(start); {
	case took > groupWindow && w.size > 1:
		w.size /= 2
	case took <= groupWindow/2 && w.size < maxGroup:
		w.size *= 2
	}
	return sent, firstErr
}

func (w *courier) claimsOf(jobs []*job) []*store.Claim {
	out := make([]*store.Claim, len(jobs))
	for k, j := range jobs {
		out[k] = j.c
	}
	return out
}

// check applies the checks that need no lock. It reports whether the
// delivery goes on to be confirmed; if not, the step that took it (a
// deferral, a postponement…) has run. An error is a store error.
func (j *job) check(ctx context.Context) (bool, error) {
	e, c := j.w.e, j.c
	j.camp = j.w.snap.campaign(c.Pending.CampaignID)
	if j.camp == nil {
		// Scheduled by an engine that knows a newer campaign set: leave it
		// to the next Tick, which refreshes.
		return false, j.run(ctx, stepLater)
	}
	def := &j.camp.Campaign
	loc, inAudience, err := e.askDirectory(ctx, def, c.UserID)
	if err != nil {
		j.cause = err
		return false, j.run(ctx, stepPostpone)
	}
	j.loc = loc
	if reason, until := e.sendTimeCheck(def, loc, j.now, inAudience); reason != "" {
		j.reason, j.until = reason, until
		return false, j.run(ctx, stepDefer)
	}
	if def.RateLimit > 0 && !c.Pending.Control {
		minute := j.now.Truncate(time.Minute)
		key := "rate:" + def.ID + ":" + strconv.FormatInt(minute.Unix(), 10)
		ok, err := e.store.Take(ctx, e.cfg.namespace, key, int64(def.RateLimit), j.now, minute.Add(2*time.Minute))
		if err != nil {
			j.w.releaseAll([]*store.Claim{c})
			return false, fmt.Errorf("connector: tick: rate limit of %q: %w", def.ID, err)
		}
		if !ok {
			j.reason, j.until = rule.ReasonRateLimited, minute.Add(time.Minute)
			return false, j.run(ctx, stepDefer)
		}
	}
	if c.Pending.Control {
		ev := event.Event{ID: "control:" + c.Pending.ID, UserID: c.UserID, Kind: event.ControlGroupEnrolled,
			CampaignID: def.ID, Time: j.now}
		if j.enroll, err = e.prepare(ctx, j.w.snap, &ev, j.now, true); err != nil {
			j.cause = err
			return false, j.run(ctx, stepPostpone)
		}
	}
	return true, nil
}

// run applies step to the job's delivery under the user's lock and hands
// the decisions it took to the observers.
func (j *job) run(ctx context.Context, s step) error {
	j.step = s
	if s != stepConfirm && s != stepRecord {
		j.now = j.w.e.cfg.clock.Now()
	}
	e := j.w.e
	if err := e.store.Update(ctx, e.cfg.namespace, j.c.UserID, j.now, store.Dedup{}, j.apply); err != nil {
		return fmt.Errorf("connector: tick: delivery %s: %w", j.c.Pending.ID, err)
	}
	e.observeAll(j.dec)
	return nil
}

// runAll applies step to every job's delivery, in one store call when the
// store takes batches, and hands their decisions to the observers in
// order. It returns the first error; the jobs without one are applied.
func (w *courier) runAll(ctx context.Context, jobs []*job, s step) error {
	if len(jobs) == 1 {
		j := jobs[0]
		err := j.run(ctx, s)
		if err != nil {
			j.ok, j.failed = false, true // the step may have run and not been stored
		}
		return err
	}
	e := w.e
	w.ops = w.ops[:0]
	for _, j := range jobs {
		j.step = s
		w.ops = append(w.ops, store.Op{UserID: j.c.UserID, Now: j.now, Fn: j.apply})
	}
	e.applyOps(ctx, w.ops)
	var firstErr error
	for k, j := range jobs {
		if err := w.ops[k].Err; err != nil {
			j.ok, j.failed = false, true
			if firstErr == nil {
				firstErr = fmt.Errorf("connector: tick: delivery %s: %w", j.c.Pending.ID, err)
			}
			continue
		}
		e.observeAll(j.dec)
	}
	clear(w.ops)
	return firstErr
}

// releaseAll hands claimed deliveries back before their lease ends (Tick is
// stopping early), so another Tick need not wait for the lease. Best
// effort: if it fails, the lease runs out instead.
func (w *courier) releaseAll(claims []*store.Claim) {
	if len(claims) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
	defer cancel()
	j := &job{w: w}
	j.apply = j.update
	for _, c := range claims {
		j.c = c
		_ = j.run(ctx, stepRelease)
	}
}
