package connector

import (
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// cancelByExceptions cancels the pending deliveries whose follow-up has an
// exception the event matches, if the event happened while the user was
// waiting: at or after the trigger's time and strictly before the due
// time. An exception stamped in the same instant as its trigger cancels
// when it is processed after the trigger (it finds the delivery); one
// processed before found nothing to cancel. A delivery whose send has
// started cannot be stopped; it is marked so that a failed send is
// cancelled instead of retried. An exception outside the wait of a
// pending delivery is recorded as ignored (before_trigger, after_due), as
// is one that finds none of its follow-up but was stamped before the
// user last received it (after_send), so that the user's history says
// why it did not cancel.
//
// A backfill's tail (t.tail) replays the exceptions tracked since the
// activation against the deliveries the backfill scheduled alone, and
// cancels without recording what it ignores: the exception, tracked live,
// recorded that already if it came after the replayed trigger.
func (t *tracker) cancelByExceptions(u *store.UserState) {
	if len(t.exceptions) == 0 {
		return
	}
	at := t.ev.Time
	// t.met says, per exception (as indexed in t.exceptions), whether it
	// met a pending delivery of its follow-up; unmet counts those that
	// did not.
	t.met = resize(t.met, len(t.exceptions))
	clear(t.met)
	unmet := len(t.exceptions)
	u.RemovePendingFunc(func(p *store.Pending) bool { // one pass, however many follow-ups the event concerns
		k := t.exceptionOf(p.CampaignID)
		if k < 0 {
			return false
		}
		if !t.met[k] {
			t.met[k] = true
			unmet--
		}
		r := t.exceptions[k]
		if t.tail && !(p.Backfilled && p.Activation == r.c.Activation) {
			return false // not the backfill's: the exception met it, or will, as it was tracked
		}
		switch {
		case t.tail && (at.Before(p.Trigger.Time) || !at.Before(p.DueAt)):
			return false
		case at.Before(p.Trigger.Time):
			t.ignore(ignoredBeforeTrigger, r, p, "the trigger happened at "+stamp(p.Trigger.Time))
			return false
		case !at.Before(p.DueAt):
			t.ignore(ignoredAfterDue, r, p, "the wait ended at the due time "+stamp(p.DueAt))
			return false
		case p.Sending:
			p.CancelOnFailure = true
			return false
		}
		t.marks.add(t.e, r.c, p.CampaignID, tcCancelledException, r.tally)
		if t.e.observed {
			d := t.exceptionDecision(rule.Cancelled, rule.ReasonException, r, p)
			d.Detail = "waiting since " + stamp(p.Trigger.Time)
			t.decisions = append(t.decisions, d)
		}
		return true
	})
	if !t.tail && unmet > 0 && len(u.Receipts) > 0 {
		t.ignoreAfterSends(u)
	}
}

// ignoreAfterSends records, for each exception that met no pending
// delivery of its follow-up (t.met, as cancelByExceptions sets it), that
// it came too late when the user received the follow-up after the
// exception's time: the support question "she bought, and still got the
// reminder" then has its answer in the user's history. An expired
// receipt, which pruning may or may not have removed yet, does not count.
// Nor, in a backfill, does a receipt from before the activation: the
// backfill replays an event that was tracked in its time, before that
// send, as if the follow-up had been active then, when the send had not
// happened yet. The receipts are matched to the exceptions in one pass
// over each, so that the cost stays linear in the user's receipts and
// the follow-ups the event concerns.
func (t *tracker) ignoreAfterSends(u *store.UserState) {
	rcs := resize(t.receiptOf, len(t.exceptions))
	t.receiptOf = rcs
	for k := range rcs {
		rcs[k] = -1
	}
	for i := range u.Receipts {
		if k := t.exceptionOf(u.Receipts[i].CampaignID); k >= 0 && rcs[k] < 0 {
			rcs[k] = int32(i)
		}
	}
	for k, r := range t.exceptions {
		if t.met[k] || rcs[k] < 0 {
			continue
		}
		rc := u.Receipts[rcs[k]]
		if !t.ev.Time.Before(rc.At) || (!rc.Expires.IsZero() && !t.now.Before(rc.Expires)) ||
			(t.only != nil && rc.At.Before(r.c.ActivatedAt)) {
			continue
		}
		id := r.c.Campaign.ID
		t.ignored[ignoredAfterSend]++
		t.marks.add(t.e, r.c, id, tcIgnored[ignoredAfterSend], "")
		if t.e.observed {
			d := t.decision(rule.Ignored, rule.ReasonAfterSend, r.c)
			d.Rule = r.desc
			d.Detail = "last received at " + stamp(rc.At)
			t.decisions = append(t.decisions, d)
		}
	}
}

// ignore records that exception r did not cancel pending delivery p, for
// reason ignoredReasons[reason].
func (t *tracker) ignore(reason int, r exceptionRef, p *store.Pending, detail string) {
	t.ignored[reason]++
	t.marks.add(t.e, r.c, p.CampaignID, tcIgnored[reason], "")
	if t.e.observed {
		d := t.exceptionDecision(rule.Ignored, ignoredReasons[reason], r, p)
		d.Detail = detail
		t.decisions = append(t.decisions, d)
	}
}

// exceptionDecision describes a decision exception r (the tracked event)
// took about pending delivery p.
func (t *tracker) exceptionDecision(kind rule.DecisionKind, reason rule.Reason, r exceptionRef, p *store.Pending) rule.Decision {
	d := pendingDecision(kind, reason, p, t.now)
	d.EventID, d.EventKind, d.EventTime = t.ev.ID, t.ev.Kind, t.ev.Time
	d.Rule = r.desc
	return d
}
