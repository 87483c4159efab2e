package connector

import (
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// observe hands d to every observer. Callers hold no lock.
func (e *Engine) observe(d rule.Decision) {
	d.Namespace = e.cfg.namespace
	for _, o := range e.cfg.observers {
		o.Observe(d)
	}
}

func (e *Engine) observeAll(ds []rule.Decision) {
	if len(e.cfg.observers) == 0 {
		return
	}
	for _, d := range ds {
		e.observe(d)
	}
}

// emitWarnings hands definition warnings to the observers as decisions of
// kind [rule.Warned].
func (e *Engine) emitWarnings(ws []Warning, now time.Time) {
	for _, w := range ws {
		e.observe(rule.Decision{Kind: rule.Warned, Reason: w.Reason, CampaignID: w.CampaignID, Detail: w.Detail, At: now})
	}
}

// Decisions kept in a user's decision log have a Detail of at most about
// logDetailMax bytes, its last logDetailTail bytes included: a sender's
// error may quote a whole reply (an HTML page of hundreds of kilobytes),
// and the log is part of the user's record, written again at each of the
// user's events.
const (
	logDetailMax  = 4096
	logDetailTail = 512
)

// appendLog adds decisions to the user's decision log, when the engine keeps
// one, dropping entries past the retention or beyond the per-user maximum.
// A long Detail is clipped (logDetailMax).
func (e *Engine) appendLog(u *store.UserState, now time.Time, ds ...rule.Decision) {
	if e.cfg.logMax == 0 || len(ds) == 0 {
		return
	}
	n := len(u.Log)
	u.Log = append(u.Log, ds...)
	for i := n; i < len(u.Log); i++ {
		u.Log[i].Detail = clipText(u.Log[i].Detail, logDetailMax, logDetailTail)
	}
	cut := 0
	if over := len(u.Log) - e.cfg.logMax; over > 0 {
		cut = over
	}
	oldest := now.Add(-e.cfg.logRetention)
	for cut < len(u.Log) && u.Log[cut].At.Before(oldest) {
		cut++
	}
	if cut > 0 {
		u.Log = append(u.Log[:0], u.Log[cut:]...)
	}
}

// pendingDecision describes a decision about pending delivery p.
func pendingDecision(kind rule.DecisionKind, reason rule.Reason, p *store.Pending, now time.Time) rule.Decision {
	return rule.Decision{
		Kind:       kind,
		Reason:     reason,
		CampaignID: p.CampaignID,
		UserID:     p.Trigger.UserID,
		EventID:    p.Trigger.ID,
		EventKind:  p.Trigger.Kind,
		EventTime:  p.Trigger.Time,
		DeliveryID: p.ID,
		DueAt:      p.DueAt,
		Attempt:    p.Attempt,
		Backfilled: p.Backfilled,
		At:         now,
	}
}

// earliestTrigger returns the earliest time of a trigger a follow-up is
// about to schedule from, at now: a trigger now, or, when since is not
// zero, the oldest one a backfill from since replays (no older than the
// maximum trigger age allows).
func (s *snapshot) earliestTrigger(now, since time.Time) time.Time {
	from := now
	if !since.IsZero() && since.Before(from) {
		from = since
	}
	if s.maxTriggerAge > 0 {
		if oldest := now.Add(-s.maxTriggerAge); oldest.After(from) {
			from = oldest
		}
	}
	return from
}

// delayNeverFits explains why no trigger at or after earliest can give a
// due time inside c's duration, or returns "". A due time never decreases
// as the trigger time increases, so the earliest possible one is that of
// a trigger at earliest (or at Start): if it is not before End, none is.
// Nor does any fit when c's send window does not open between that due
// time and End: every due time in between is outside the window, and is
// suppressed or moved past End. Calendar delays and windows are read in
// the engine's default location when oneZone says every user is in it;
// otherwise a calendar delay is read in the zone that makes it earliest,
// and the window is not checked (a Directory's zones may open it at other
// instants).
func delayNeverFits(c *rule.Campaign, earliest time.Time, loc *time.Location, oneZone bool) string {
	if c.End.IsZero() || !c.IsFollowUp() {
		return ""
	}
	from := earliest
	if c.Start.After(from) {
		from = c.Start
	}
	// Not "from ≥ End: ended": a calendar delay can fall due before its
	// trigger (in 0 days at 08:00, triggered at 14:00), so a trigger then
	// may still be due before End.
	due, where := c.Delay.DueAt(from, loc), ""
	if !oneZone && c.Delay.IsCalendar() {
		due, where = earliestCalendarDue(c.Delay, from), " in every time zone"
	}
	if !due.Before(c.End) {
		return fmt.Sprintf("a trigger at or after %s is due at or after the end %s%s (delay %s)",
			from.UTC().Format(time.RFC3339), c.End.UTC().Format(time.RFC3339), where, c.Delay)
	}
	if w := c.SendWindow; w != nil && oneZone && !w.Next(due, loc).Before(c.End) {
		return fmt.Sprintf("a trigger at or after %s is due at %s or later, and the send window %s (%s) does not open between then and the end %s",
			from.UTC().Format(time.RFC3339), due.UTC().Format(time.RFC3339), w, loc, c.End.UTC().Format(time.RFC3339))
	}
	return ""
}
