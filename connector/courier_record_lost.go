package connector

import (
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// failureRecorded hands the observers and tallies the outcome of a failed
// send whose record a failed call stored all the same (its reply was
// lost), as recorded does for a delivered one: the retry finds the
// delivery no longer under j's lease, and would otherwise end without a
// word. A retry that was stored shows in the delivery itself (released,
// with j's attempt, due at j's retry time, which a store may keep rounded
// down to the microsecond, as PostgreSQL does); a failure or a cancellation
// removed it, and shows only in the user's decision log (WithDecisionLog),
// as does a retry that came due and another engine took before this
// call got through: without a log, or once later decisions pushed it out
// of the log (WithDecisionLog's max), such an outcome stays in the store
// alone. Either is looked for only when a call storing this record failed
// before. A delivery gone under the slot's lease whose decision the log
// does not hold was removed by a stop: it is reported cancelled, as
// stoppedDuringSend does.
func (j *job) failureRecorded(u *store.UserState, i int) {
	if !j.retried {
		// No call stored anything of this record: the delivery is not
		// j's and no stop removed it under j's lease (stoppedDuringSend).
		j.noteTakenOver(u, i)
		return
	}
	if i >= 0 {
		p := u.Pending[i]
		early := j.retryAt.Sub(p.ReadyAt)
		if p.Token == 0 && !p.Sending && p.Attempt == j.d.Attempt && early >= 0 && early < time.Microsecond {
			j.stored = true // as logged: the time drawn, not as the store rounded it
			j.noteRetried()
			return
		}
		if j.w.e.sending.ours(p.Token) && (p.Attempt == j.d.Attempt && !p.Sending || p.Attempt == j.d.Attempt+1) {
			// A claim of this engine took the retry this record stored:
			// it came due before this call got through, and the claim
			// waits in a feed, or sends the next attempt. (This engine
			// claims a delivery marked as sending in this attempt only to
			// step aside for this job: handOver.)
			j.stored = true
			j.noteRetried()
			return
		}
		// Else the retry stored may have come due before this call got
		// through (a retry policy's wait shorter than the lease, a store
		// out of reach for longer), and another engine taken it since:
		// the log tells, as for a delivery that engine's send removed.
	}
	ours := j.logged(u, func(d *rule.Decision) bool {
		// Only the decisions record takes: a stop's cancellation, logged
		// during the send, may bear the same time on a mock clock, and its
		// stop observed it. Another engine's record of a later attempt
		// has that attempt.
		taken := d.Kind == rule.Failed && d.Reason == rule.ReasonSendError ||
			d.Kind == rule.Retried && d.Reason == rule.ReasonSendError ||
			d.Kind == rule.Cancelled && d.Reason == rule.ReasonException ||
			d.Kind == rule.Cancelled && d.Reason == rule.ReasonCampaignStopped
		return taken && d.Attempt == j.d.Attempt && d.At.Equal(j.now) && strings.Contains(d.Detail, j.sendErr.Error())
	})
	if ours != nil {
		j.stored = true
		j.noteSent(ours.Kind, ours.Reason, ours.Detail)
		return
	}
	switch {
	case !j.held || i < 0 && j.deliveredByOther(u):
		// The lease ran out during the send, and the log holds no
		// decision of a call of this record: another engine took the
		// delivery, as on a first call.
		j.noteTakenOver(u, i)
	case i < 0 && j.w.e.cfg.logMax > 0:
		// Gone under the slot's lease (its retries end with the lease),
		// and the log holds no decision of a call of this record: none
		// was stored, so a stop or an archive removed the delivery, and
		// left its outcome to this record (stoppedDuringSend). Without a
		// log, a failure stored by a call reported as failed looks the
		// same, and the stop's outcome is not told.
		j.noteSent(rule.Cancelled, rule.ReasonCampaignStopped, "the campaign was stopped during a send that failed: "+j.sendErr.Error())
	}
}

// noteRetried notes the retry of j's failed send at j.retryAt, as its
// record stores it and as failureRecorded finds it stored.
func (j *job) noteRetried() {
	j.noteSent(rule.Retried, rule.ReasonSendError, j.sendErr.Error()+"; next attempt at "+stamp(j.retryAt))
}
