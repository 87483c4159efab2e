package connector

import (
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// unconfirm undoes the confirmation of a delivery that was not sent (Tick
// stopped first): the delivery is released for the next Tick as the claim
// found it (still marked as sending when it found an attempt confirmed
// and never recorded, which may have gone out), or, if an exception
// arrived meanwhile, cancelled as it would have been before the
// confirmation.
func (j *job) unconfirm(u *store.UserState, i int, mine bool) {
	if !mine {
		i = j.ofSameActivation(u, i)
		if j.stoppedDuringSend(u, i) {
			j.noteSent(rule.Cancelled, rule.ReasonCampaignStopped, "the campaign was stopped after the last check, before the send")
		}
		return
	}
	p := u.Pending[i]
	if p.CancelOnFailure {
		u.RemovePending(i)
		j.note(rule.Cancelled, rule.ReasonException, p, "an exception arrived after the last check, before the send")
		return
	}
	p.Sending, p.Token, p.ReadyAt = j.c.Pending.Sending, 0, j.now
	p.Attempt--
}

// checked reports whether the job's own last check marked p, the job's
// delivery, as sending: marked so under the claim's token, with the
// attempt after the one the claim found, it can be no other's (the feed
// queues one job a delivery a claim, and any other step clears the
// token). The check was stored by a call whose answer was lost: a shared
// call's op is then applied again on its own, and a failed check's
// delivery given back.
func (j *job) checked(p *store.Pending) bool {
	return p.Sending && p.Token == j.token && p.Attempt == j.c.Pending.Attempt+1
}

// giveBack gives p, the job's delivery, back claimable now, unsent, as
// releasePending does; also once the job's own last check marked it as
// sending (stored by a call whose answer was lost, reported as failed: so
// nothing was sent). That check is then undone: its attempt is not
// counted, and the delivery is as the claim found it. An exception that
// arrived since it keeps the mark, for the next check to cancel the
// delivery (the exception wins), as after an attempt never recorded.
func (j *job) giveBack(p *store.Pending) {
	if !j.checked(p) {
		releasePending(p, j.token, j.now)
		return
	}
	p.Attempt--
	if !p.CancelOnFailure {
		p.Sending = j.c.Pending.Sending
	}
	p.Token, p.ReadyAt = 0, j.now
}
