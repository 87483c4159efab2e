package connector

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// update is the atomic part of each step. It must be deterministic: a SQL
// store may run it twice.
func (j *job) update(u *store.UserState, _ bool) {
	j.ok, j.dec, j.stored = false, j.dec[:0], false
	j.marks.reset()
	i := u.Find(j.c.Pending.ID)
	mine := i >= 0 && j.holds(u.Pending[i].Token)
	if !mine && i >= 0 && j.step == stepRecord {
		// A claim of this engine, waiting in a Tick's feed, took the
		// delivery during the send: it finds the outcome stored. Not once
		// the delivery is no longer marked as sending in this send's
		// attempt: a call whose answer was lost stored this record, and
		// a claim since (of this engine) may be sending the next attempt,
		// whose lease the record must leave alone.
		if p := u.Pending[i]; p.Activation == j.activation && p.Sending && p.Attempt == j.d.Attempt {
			mine = j.w.e.sending.ours(p.Token)
		}
	}
	if mine {
		// Loads, not a write every step: the slots share them.
		if !j.w.took.Load() {
			j.w.took.Store(true) // the Tick's claims came to something
		}
		if j.w.idle.Load() != 0 {
			j.w.idle.Store(0)
		}
	}
	switch {
	case j.step == stepRecord:
		j.record(u, i, mine)
	case !mine: // cancelled meanwhile, or the lease went to another engine
	case j.step == stepConfirm:
		j.confirm(u, i)
	case j.step == stepDefer:
		j.deferOrDrop(u, i)
	case j.step == stepPostpone:
		j.postpone(u, i)
	case j.step == stepRelease:
		j.giveBack(u.Pending[i])
	case j.step == stepLater:
		p := u.Pending[i]
		p.Token, p.ReadyAt = 0, j.now.Add(time.Second)
	}
	if !j.stored {
		j.w.e.appendLog(u, j.now, j.dec...)
	}
}

// note records a decision about pending delivery p.
func (j *job) note(kind rule.DecisionKind, reason rule.Reason, p *store.Pending, detail string) {
	switch {
	case j.w.e.tallies == nil:
	case kind == rule.Suppressed: // a scheduled delivery's: counted apart from triggers'
		j.marks.add(j.w.e, j.camp, p.CampaignID, codeWhenDue(reason), "")
	default:
		j.marks.add(j.w.e, j.camp, p.CampaignID, codeOf(kind, reason), "")
	}
	if !j.w.e.observed && !failed(kind) { // failures are kept for RecentFailures
		return
	}
	d := pendingDecision(kind, reason, p, j.now)
	d.Detail = detail
	j.dec = append(j.dec, d)
}

// confirm re-checks a claimed delivery right before its send, marks it as
// sending (from then on an exception can no longer stop it) and makes sure
// its lease has at least half its length left. The
// delivery is not sent when its follow-up is no longer active in this
// activation (cancelled) or a frequency cap suppresses it; a control-group
// member is held out: recorded as received, with control_group_enrolled
// applied in the same update.
func (j *job) confirm(u *store.UserState, i int) {
	p := u.Pending[i]
	switch {
	case j.snap.stale(p):
		u.RemovePending(i)
		j.note(rule.Cancelled, rule.ReasonCampaignStopped, p, "")
		return
	case p.Sending && p.CancelOnFailure:
		// An earlier attempt was confirmed and never recorded (its engine
		// died, or lost the lease), and an exception arrived during it:
		// the send may not have gone out, and the user stopped waiting
		// before this one would, so the exception wins.
		u.RemovePending(i)
		j.note(rule.Cancelled, rule.ReasonException, p, "an exception arrived during an earlier attempt whose outcome was never recorded")
		return
	case p.Control:
		u.RemovePending(i)
		j.w.e.setReceipt(u, p.CampaignID, &j.camp.Campaign, j.now)
		j.note(rule.HeldOut, rule.ReasonControlGroup, p, "")
		if j.enroll != nil {
			j.enroll.update(u, false)
			j.dec = append(j.dec, j.enroll.decisions...)
			j.marks = append(j.marks, j.enroll.marks...)
		}
		return
	}
	if cap, capped := j.w.e.capped(u, &j.camp.Campaign, p.ID, j.now, j.loc); capped {
		u.RemovePending(i)
		j.note(rule.Suppressed, rule.ReasonFrequencyCapped, p, "cap "+cap.String())
		return
	}
	if j.slotless {
		// The caps dropped it before its rate limit, and let it go now: a
		// send to the user ended meanwhile. It goes back to the queue, to
		// take a slot before it is sent.
		p.Token, p.ReadyAt = 0, j.now
		return
	}
	if !j.checked(p) { // else applied again after a lost answer: counted once
		p.Attempt++
	}
	p.Sending = true
	p.DirectoryErrors = 0 // the directory answered: a later outage starts its waits afresh
	if p.ReadyAt.Sub(j.leaseFrom) < j.w.e.cfg.lease/2 {
		// The delivery waited for a send slot: renew its lease for the
		// send. A lease with more than half left is kept as it is (on
		// PostgreSQL the update then leaves the due index alone), and the
		// keeper renews it if the send lasts.
		p.ReadyAt = j.leaseFrom.Add(j.w.e.cfg.lease)
	}
	j.leaseEnd, j.activation = p.ReadyAt, p.Activation
	j.seenReceipt = time.Time{}
	if r, ok := u.Receipt(p.CampaignID); ok {
		j.seenReceipt = r.At
	}
	j.d = Delivery{
		ID:         p.ID,
		CampaignID: p.CampaignID,
		UserID:     j.c.UserID,
		Channel:    j.camp.Campaign.Channel,
		Trigger:    p.Trigger,
		DueAt:      p.DueAt,
		Attempt:    p.Attempt,
		Message:    j.camp.Campaign.Message,
	}
	j.ok = true
}

// record stores the outcome of a send: received (even if the delivery was
// cancelled during the send), or cancelled (an exception arrived during a
// send that failed), failed (the last attempt), or retried with backoff.
func (j *job) record(u *store.UserState, i int, mine bool) {
	if j.sendErr == errNotSent {
		j.unconfirm(u, i, mine)
		return
	}
	if j.sendErr == nil {
		switch {
		case mine:
			u.RemovePending(i)
		case j.retried && j.recorded(u):
			// A call that failed stored this record all the same (its
			// reply was lost): the receipt, the cap history and the log
			// have the send. The observers have not seen it. Without a
			// failed call, a receipt at this instant is another send's:
			// the engine this delivery's lease ran out on sent it too.
			j.stored = true
			j.noteSent(rule.Delivered, "", "")
			return
		case i >= 0:
			// The lease ran out during the send (the store failed its
			// renewals) and another engine claimed the delivery: it is
			// delivered all the same, and that engine's last check finds
			// it gone rather than send it again.
			u.RemovePending(i)
		}
		camp := j.w.e.snap.Load().campaign(j.d.CampaignID)
		var def *rule.Campaign
		if camp != nil {
			def = &camp.Campaign
			j.w.e.recordSend(u, def, j.now)
		}
		j.w.e.setReceipt(u, j.d.CampaignID, def, j.now)
		j.noteSent(rule.Delivered, "", "")
		return
	}
	if !mine {
		i = j.ofSameActivation(u, i)
		if j.stoppedDuringSend(u, i) {
			j.noteSent(rule.Cancelled, rule.ReasonCampaignStopped, "the campaign was stopped during a send that failed: "+j.sendErr.Error())
			return
		}
		j.failureRecorded(u, i)
		return
	}
	p := u.Pending[i]
	switch {
	case p.CancelOnFailure:
		u.RemovePending(i)
		j.noteSent(rule.Cancelled, rule.ReasonException, "an exception arrived during a send that failed: "+j.sendErr.Error())
	case errors.Is(j.sendErr, ErrPermanent): // before the last attempt's case: its detail says so too
		u.RemovePending(i)
		j.noteSent(rule.Failed, rule.ReasonSendError, j.sendErr.Error()+" (permanent: not retried)")
	case p.Attempt >= j.w.e.cfg.retry.MaxAttempts:
		u.RemovePending(i)
		j.noteSent(rule.Failed, rule.ReasonSendError, j.sendErr.Error())
	default:
		p.Sending, p.Token = false, 0
		p.ReadyAt = j.retryAt
		j.noteRetried()
	}
}

// stoppedDuringSend reports whether j's delivery, found at index i (-1:
// gone), was removed by a stop or an archive after its confirmation: it is
// gone while the slot held its lease, which keeps every other engine from
// it (however long the send lasts past that lease once the keeper found
// the delivery gone: see slot.stillHeld). Such a stop leaves the delivery's outcome to this record
// (Engine.cancelAll): the sender may accept it, and then it is delivered,
// not cancelled. After a call storing the record failed, the delivery may
// be gone by that call's doing: failureRecorded looks for it in the log.
// A delivery another engine's send removed is not a stop's doing either
// (deliveredByOther).
func (j *job) stoppedDuringSend(u *store.UserState, i int) bool {
	return i < 0 && j.held && !j.retried && !j.deliveredByOther(u)
}

// ofSameActivation returns i, the index of the delivery with j's ID that
// is not under j's lease, or -1 when that delivery is of another
// activation of the follow-up than j's: a stop removed j's delivery, and
// a backfill on the resume scheduled its trigger again, with the same ID.
// That delivery is not j's, taken by another engine: its attempts start
// afresh. (The record of a send that went through removes it all the
// same: the sender took a delivery with its ID.)
func (j *job) ofSameActivation(u *store.UserState, i int) int {
	if i >= 0 && u.Pending[i].Activation != j.activation {
		return -1
	}
	return i
}

// deliveredByOther reports whether another send of j's delivery went
// through and removed it: the engine whose lease had run out when j
// claimed the delivery was still sending it. The user's decision log,
// when the engine keeps one, may hold that send's delivered decision, of
// an earlier attempt. Else a receipt of j's follow-up from a send that
// ended after j's confirmation tells (after the delivery was due, when
// j's claim found an earlier attempt never recorded: its engine may store
// its kept record during j's send, dated when that send returned; not the
// receipt j's confirmation found), unless
// the follow-up allows parallel deliveries or was stopped and resumed
// since: then the receipt may be another delivery's, sent during j's
// send, and a stop that removed j's delivery is not to be taken for that
// send.
func (j *job) deliveredByOther(u *store.UserState) bool {
	if j.w.e.cfg.logMax > 0 {
		if j.logged(u, func(d *rule.Decision) bool { return d.Kind == rule.Delivered && d.Attempt != j.d.Attempt }) != nil {
			return true
		}
	}
	if j.camp.Campaign.PendingPolicy == rule.AllowParallel {
		return false
	}
	r, ok := u.Receipt(j.d.CampaignID)
	if !ok {
		return false
	}
	// A claim that found an earlier attempt confirmed and never recorded
	// takes a receipt since the delivery was due: the engine that sent
	// that attempt and kept its outcome (unrecorded) stores its record
	// dated when that send returned, before j's confirmation. Not the
	// receipt j's confirmation found: that attempt's record, stored
	// then, would have removed the delivery, so it is an earlier
	// delivery's, whose send ended after this one was due (a stop and
	// resume during it).
	if r.At.Before(j.leaseFrom) && (!j.c.Pending.Sending || r.At.Before(j.d.DueAt) || r.At.Equal(j.seenReceipt)) {
		return false
	}
	// A follow-up activated again since j's delivery was scheduled was
	// stopped after j's confirmation (a stop removes what is pending),
	// and a receipt from its new activation on came after that stop: a
	// delivery of the new activation left it (delivered, or held out in
	// the control group), or the other engine's send of j's delivery
	// ended after the stop had removed it. Either way the stop removed
	// j's delivery. This engine's campaigns tell of an activation once
	// it has seen it (it did the resume, or refreshed since); a receipt
	// before the latest activation is taken for the other engine's send.
	if c := j.w.e.snap.Load().campaign(j.d.CampaignID); c != nil && c.Activation > j.activation && !r.At.Before(c.ActivatedAt) {
		return false
	}
	return true
}

// logged returns the latest decision about j's delivery in u's log for
// which match reports true, or nil.
func (j *job) logged(u *store.UserState, match func(d *rule.Decision) bool) *rule.Decision {
	for k := len(u.Log) - 1; k >= 0; k-- {
		if d := &u.Log[k]; d.DeliveryID == j.d.ID && match(d) {
			return d
		}
	}
	return nil
}

// noteTakenOver notes the failure of j's send when the delivery, found
// at index i (-1: gone), is no longer j's: its lease ran out during the
// send and another engine took it, or that engine's send delivered it,
// or a stop removed it (the stop reports it cancelled: no engine held
// it). The delivery's attempts go on elsewhere or are over, so this one
// is recorded as retried, with no time of its own.
func (j *job) noteTakenOver(u *store.UserState, i int) {
	detail := "; the lease ran out during the send, and another engine took the delivery"
	switch {
	case j.deliveredByOther(u):
		detail = "; another engine's send delivered it meanwhile"
	case i < 0:
		// Another engine may have taken it and recorded its outcome, or a
		// stop removed it: nothing in the user's state tells which.
		detail = "; the lease ran out during the send, and the delivery is gone: another engine took it, or a stop removed it"
	}
	j.noteSent(rule.Retried, rule.ReasonSendError, j.sendErr.Error()+detail)
}

// recorded reports whether u holds the record of j's send: its receipt,
// whose time is the clock's when the send returned, the same in every try
// of the record. A later send of the same follow-up to the user (parallel
// deliveries) replaces that receipt; then the send's decision in the log
// or its entry in the caps' history tells, when the engine keeps either.
func (j *job) recorded(u *store.UserState) bool {
	for _, r := range u.Receipts {
		if r.CampaignID == j.d.CampaignID && r.At.Equal(j.now) {
			return true
		}
	}
	if j.logged(u, func(d *rule.Decision) bool {
		return d.Kind == rule.Delivered && d.Attempt == j.d.Attempt && d.At.Equal(j.now)
	}) != nil {
		return true
	}
	for _, s := range u.Sends {
		if s.CampaignID == j.d.CampaignID && s.At.Equal(j.now) {
			return true
		}
	}
	return false
}

func (j *job) noteSent(kind rule.DecisionKind, reason rule.Reason, detail string) {
	j.marks.addPair(j.w.e, j.camp, j.d.CampaignID, kind, reason)
	if !j.w.e.observed && !failed(kind) { // failures are kept for RecentFailures
		return
	}
	d := j.d
	j.dec = append(j.dec, rule.Decision{
		Kind: kind, Reason: reason, CampaignID: d.CampaignID, UserID: d.UserID,
		EventID: d.Trigger.ID, EventKind: d.Trigger.Kind, EventTime: d.Trigger.Time,
		DeliveryID: d.ID, DueAt: d.DueAt, Attempt: d.Attempt, Detail: detail, At: j.now,
	})
}

// deferOrDrop moves the delivery to j.until (a Deferred decision), or drops
// it (Suppressed) when until is zero or further than the maximum deferral
// past its due time. A dropped delivery does not count as received.
func (j *job) deferOrDrop(u *store.UserState, i int) {
	p := u.Pending[i]
	if !j.until.IsZero() && j.until.Sub(p.DueAt) <= j.w.e.cfg.maxDeferral {
		p.Token, p.ReadyAt = 0, j.until
		p.DirectoryErrors = 0 // the directory answered: a later outage starts its waits afresh
		j.note(rule.Deferred, j.reason, p, joinDetail("until "+stamp(j.until), j.why))
		return
	}
	u.RemovePending(i)
	detail := ""
	if !j.until.IsZero() {
		detail = "would wait past the maximum deferral of " + j.w.e.cfg.maxDeferral.String()
	}
	j.note(rule.Suppressed, j.reason, p, joinDetail(detail, j.why))
}

// directoryRetryMax bounds the wait between two tries of a delivery the
// directory held back (the retry policy's Max when shorter): a directory
// is shared, and once it is back every delivery it held should go out
// soon, before a send window closes or quiet hours begin.
const directoryRetryMax = 5 * time.Minute

// postpone retries the delivery later because the directory failed, after
// the retry policy's wait for its sends and directory errors so far, at
// most directoryRetryMax (so that an outage is retried ever less often,
// as failing sends are), and at the latest at the end of the maximum
// deferral. Once that has come, it fails.
func (j *job) postpone(u *store.UserState, i int) {
	p := u.Pending[i]
	deadline := p.DueAt.Add(j.w.e.cfg.maxDeferral)
	if !j.now.Before(deadline) {
		u.RemovePending(i)
		j.note(rule.Failed, rule.ReasonDirectoryError, p, j.cause.Error())
		return
	}
	p.DirectoryErrors++
	policy := j.w.e.cfg.retry
	policy.Max = min(policy.Max, directoryRetryMax)
	policy.Base = min(policy.Base, policy.Max)
	next := j.now.Add(policy.backoff(p.Attempt + p.DirectoryErrors))
	if next.After(deadline) {
		next = deadline
	}
	p.Token, p.ReadyAt = 0, next
	// The user's decision log keeps the latest of an outage's retries, so
	// that an outage of hours does not push the rest of the log out.
	if j.w.e.cfg.logMax > 0 {
		u.Log = slices.DeleteFunc(u.Log, func(d rule.Decision) bool {
			return d.Kind == rule.Retried && d.Reason == rule.ReasonDirectoryError && d.DeliveryID == p.ID
		})
	}
	j.note(rule.Retried, rule.ReasonDirectoryError, p, fmt.Sprintf("%v (%d in a row); next attempt at %s", j.cause, p.DirectoryErrors, stamp(next)))
}
