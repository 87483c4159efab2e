package connector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// job is one claimed delivery on its way through the steps. Its update
// function is bound once (jobs are reused), so the steps allocate nothing
// of their own.
type job struct {
	w     *courier
	step  step
	c     store.Claim
	token uint64 // the claim's: the delivery is still ours while it holds it
	// adopted is the token of a later claim of the delivery by this
	// engine, made while this job sends it (inFlight.handOver): the
	// delivery is still ours while it holds that one either.
	adopted atomic.Uint64
	snap    *snapshot // the engine's campaigns when the checks ran
	camp    *campaign
	now     time.Time
	loc     *time.Location
	// locByDirectory: the directory gave loc (else it is the engine's
	// default), for the details that quote local times.
	locByDirectory bool

	leaseFrom time.Time // stepConfirm: the time the renewed lease counts from
	leaseEnd  time.Time // stepConfirm: when the confirmed delivery's lease ends
	// stepConfirm: the follow-up's activation the confirmed delivery was
	// scheduled in.
	activation int64
	// stepConfirm: when the follow-up's receipt the confirmation found
	// dates from (zero: none), a receipt no send during j's can have left.
	seenReceipt time.Time

	reason  rule.Reason // stepDefer: why, and until when
	until   time.Time
	why     string // stepDefer: the check that failed, for the detail (sendTimeWhy)
	cause   error  // stepPostpone: the directory's error
	sendErr error  // stepRecord: the sender's answer
	// stepRecord: when a failed send is retried, drawn once (the backoff
	// has jitter), so that each try of the record stores the same time
	// and a retry stored by a call reported as failed is recognised.
	retryAt time.Time
	retried bool // stepRecord: a call storing the record failed before
	// stepRecord: the slot still held the delivery's lease when the record
	// was made, or the keeper found the delivery gone while it did, so no
	// other engine can have taken the delivery: if it is gone, a stop or
	// an archive removed it during the send.
	held   bool
	stored bool  // stepRecord: the store already held the record, from a call reported as failed
	err    error // the check's own error (a rate limit's store call), for the Tick
	// stepConfirm: the caps dropped the delivery before its rate limit,
	// whose slot it did not take.
	slotless bool
	enroll   *tracker

	// Its outcome.
	d     Delivery
	ok    bool // confirmed: to send
	dec   []rule.Decision
	marks tallyMarks // the decisions to count (tallies.go)

	apply func(u *store.UserState, duplicate bool)
}

type step uint8

const (
	stepConfirm  step = iota // check and mark as sending, or hold out
	stepRecord               // the send's outcome
	stepDefer                // move to until, or drop
	stepPostpone             // the directory failed: retry later
	stepRelease              // give the claim back
	stepLater                // unknown campaign, or a kept outcome another Tick records: wait
	stepAside                // another slot of the engine sends it: nothing to store
)

// errNotSent is the outcome of a confirmed delivery whose send did not
// start: Tick stopped first.
var errNotSent = errors.New("connector: not sent: the tick stopped")

// reset readies the job for its claim (the feed set c and token).
func (j *job) reset() {
	j.finish()
	j.step, j.snap, j.camp, j.loc, j.cause, j.sendErr, j.err, j.ok, j.slotless, j.dec = stepConfirm, nil, nil, nil, nil, nil, nil, false, false, j.dec[:0]
	j.now = j.w.e.cfg.clock.Now()
	j.retryAt, j.retried, j.held, j.locByDirectory, j.why = time.Time{}, false, false, false, ""
	j.seenReceipt = time.Time{}
	j.adopted.Store(0)
}

// clear drops what the job refers to, for the pool.
func (j *job) clear() {
	j.finish()
	clear(j.dec[:cap(j.dec)])
	*j = job{w: j.w, dec: j.dec[:0], marks: j.marks[:0], apply: j.apply}
}

// finish releases what the job holds beyond its step.
func (j *job) finish() {
	if j.enroll != nil {
		j.enroll.release()
		j.enroll = nil
	}
}

// check applies the checks that need no lock and sets the step that
// follows: the confirmation, or a deferral, a postponement… A store error
// (a rate limit's counter) gives the claim back and is kept for the Tick.
func (j *job) check() {
	e, c, ctx := j.w.e, &j.c, j.w.ctx
	if j.w.stopping() {
		j.step = stepRelease
		return
	}
	if e.sending.handOver(j) {
		// This engine sends the delivery now: its lease ran out during
		// the send. The sending job takes this claim's token, and keeps
		// the delivery leased and recorded under it; nothing is stored.
		j.step = stepAside
		return
	}
	if e.unrecorded.restore(j) {
		// This engine sent it, and the store never took the record of
		// that send: the record is stored now, and nothing is sent.
		return
	}
	// The engine's latest campaigns, not the Tick's: a Tick may send for
	// long, and a campaign changed meanwhile (edited, stopped) is sent as
	// it is now. The feed refreshes them at each claim.
	j.snap = e.snap.Load()
	j.camp = j.snap.campaign(c.Pending.CampaignID)
	if j.camp == nil {
		// Scheduled by an engine that knows a newer campaign set: leave it
		// to the next Tick, which refreshes.
		j.step = stepLater
		return
	}
	def := &j.camp.Campaign
	loc, byDirectory, inAudience, err := e.askDirectory(ctx, def, c.UserID)
	if err != nil {
		j.step, j.cause = stepPostpone, err
		if ctx.Err() != nil { // the Tick stopped, the directory did not fail
			j.step = stepRelease
		}
		return
	}
	j.loc, j.locByDirectory = loc, byDirectory
	// The checks run at the time the directory answered: a directory that
	// took minutes must not let a delivery due before quiet hours, or
	// before its send window closed, go inside them.
	j.now = e.cfg.clock.Now()
	if j.deferredAtSendTime(def, inAudience) {
		return
	}
	if def.RateLimit > 0 && !c.Pending.Control {
		// A delivery the caps drop at the last check is not sent, so it
		// takes no slot: the limit is left to the deliveries that go.
		capped, err := e.cappedNow(ctx, def, c, j.now, loc)
		if err != nil {
			j.step = stepRelease
			j.err = fmt.Errorf("connector: tick: frequency caps of %q: %w", c.UserID, cutShort(ctx, err))
			return
		}
		j.slotless = capped
	}
	if def.RateLimit > 0 && !c.Pending.Control && !j.slotless {
		minute := j.now.Truncate(time.Minute)
		key := "rate:" + def.ID + ":" + strconv.FormatInt(minute.Unix(), 10)
		ok, err := e.store.Take(ctx, e.cfg.namespace, key, int64(def.RateLimit), j.now, minute.Add(2*time.Minute))
		if err != nil {
			j.step = stepRelease
			j.err = fmt.Errorf("connector: tick: rate limit of %q: %w", def.ID, cutShort(ctx, err))
			return
		}
		if !ok {
			j.step, j.reason, j.until, j.why = stepDefer, rule.ReasonRateLimited, minute.Add(time.Minute), ""
			return
		}
		// The caps' and the rate limit's store calls may have taken long
		// too: the checks are judged again when they answered. A slot
		// taken for a delivery deferred now stays taken: the limit errs
		// on the side of fewer sends.
		j.now = e.cfg.clock.Now()
		if j.deferredAtSendTime(def, inAudience) {
			return
		}
	}
	if c.Pending.Control {
		ev := event.Event{ID: "control:" + c.Pending.ID, UserID: c.UserID, Kind: event.ControlGroupEnrolled,
			CampaignID: def.ID, Time: j.now}
		if j.enroll, err = e.prepare(ctx, j.snap, &ev, j.now, true); err != nil {
			j.step, j.cause = stepPostpone, err
			if ctx.Err() != nil { // the Tick stopped, the directory did not fail
				j.step = stepRelease
			}
			return
		}
	}
	j.step = stepConfirm
}

// deferredAtSendTime applies the send-time checks (audience, send window,
// quiet hours) at j.now and reports whether they defer or drop the
// delivery: then the step is set.
func (j *job) deferredAtSendTime(def *rule.Campaign, inAudience bool) bool {
	reason, until := j.w.e.sendTimeCheck(def, j.loc, j.now, inAudience)
	if reason == "" {
		return false
	}
	j.step, j.reason, j.until = stepDefer, reason, until
	j.why = j.sendTimeWhy() // at the time checked: the step is stored a little later
	return true
}

// release gives the job's claim back before its lease ends (its step was
// not stored, or the Tick is stopping), so another Tick need not wait for
// the lease. Best effort: if it fails, the lease runs out instead.
func (j *job) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	e := j.w.e
	j.step, j.now = stepRelease, e.cfg.clock.Now()
	_ = e.store.Update(ctx, e.cfg.namespace, j.c.UserID, j.now, store.Dedup{}, j.apply)
}
