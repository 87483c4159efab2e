package dashboard

import (
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// pendingState is a pending delivery's state in words, at now on the
// engine's clock. A delivery marked as being sent whose lease has run out
// (ReadyAt, which a sending engine keeps renewing, has passed) was left by
// an engine that stopped, or lost the store, before it recorded the send's
// outcome: the next engine to claim it sends it again, with the same ID.
// It stays marked so (the mark tells that engine an attempt has no
// outcome) when that engine puts it off before sending (a send window, a
// rate limit, a directory outage): given back, unleased (Token 0), until
// a later ReadyAt. Neither is being sent. A delivery no engine took for
// more than overdueAfter after its ReadyAt is overdue: nothing sends (nor
// holds out a control-group member's).
func pendingState(p store.Pending, now time.Time) string {
	switch {
	case interrupted(p, now):
		return "send interrupted: the engine sending it stopped before recording the outcome; it is sent again, with the same delivery ID"
	case p.Sending:
		return "being sent"
	case overdue(p, now):
		then := "sends it"
		if p.Control {
			then = "holds it out (control group)"
		}
		return "overdue by " + durationWords(now.Sub(p.ReadyAt).Truncate(time.Second)) +
			": no engine has taken it (is one running?); the first to run " + then
	case p.Control:
		return "to be held out (control group)"
	}
	return "waiting"
}

// interrupted reports whether p was being sent by an engine whose lease on
// it has run out at now, or that no engine holds since.
func interrupted(p store.Pending, now time.Time) bool {
	return p.Sending && (p.Token == 0 || !now.Before(p.ReadyAt))
}

// overdueAfter is how long after its ready time a delivery no engine has
// taken reads as overdue: as long as the engine waits before it warns of
// overdue deliveries, longer than a tick under load or a store outage of
// a few seconds delays one.
const overdueAfter = time.Minute

// overdue reports whether p, not being sent, was ready to send more than
// overdueAfter before now.
func overdue(p store.Pending, now time.Time) bool {
	return !p.Sending && now.Sub(p.ReadyAt) > overdueAfter
}
