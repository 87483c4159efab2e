package connector

import (
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/campaignconnector/campaignconnector/internal/linetext"
	"github.com/campaignconnector/campaignconnector/rule"
)

// recentFailuresMax is how many decisions [Engine.RecentFailures] keeps.
const recentFailuresMax = 50

// failureDetailMax bounds, in bytes, the Detail of a decision
// [Engine.RecentFailures] keeps: a sender's error may quote a whole
// response body.
const failureDetailMax = 1024

// RecentFailures returns the latest failed attempts of this engine's
// deliveries, the latest first: the decisions of kind [rule.Retried] and
// [rule.Failed], whatever their reason (the sender's error, the
// directory's…), once stored. Each has the user, the campaign, the
// delivery and its attempt (the send that failed; for a directory error,
// the sends tried before it, 0 when none was), the time in At and the
// error's text in Detail, clipped past 1 KiB: its start and its end
// (where the engine says when the next attempt comes, or that the failure
// was permanent), with a note of its full length in between. It keeps
// at most fifty: a new one takes the place of the oldest, so a flood of
// failures turns the list over while the tallies (and the decision log,
// when the engine keeps one) stay exact.
// The list is kept whether or not the engine has observers or a decision
// log, and costs nothing while sends go through. Like
// [Engine.UnknownCampaigns], it is this process's since the engine was
// built, and costs no store call: other engines' failures are not in it.
func (e *Engine) RecentFailures() []rule.Decision {
	return e.failures.list()
}

// failed reports whether a decision of kind is one
// [Engine.RecentFailures] keeps.
func failed(kind rule.DecisionKind) bool {
	return kind == rule.Retried || kind == rule.Failed
}

// recentFailures is the list behind Engine.RecentFailures: a ring of at
// most recentFailuresMax decisions, allocated on the first failure. Only
// stored failures take its lock.
type recentFailures struct {
	mu   sync.Mutex
	ring []rule.Decision // the oldest at next once full
	next int             // where the next failure goes
}

// note keeps the failures among ds, stored decisions of one job, for the
// engine in namespace ns. Other decisions cost a look at their kind.
func (r *recentFailures) note(ds []rule.Decision, ns string) {
	for i := range ds {
		if failed(ds[i].Kind) {
			r.add(ds[i], ns)
		}
	}
}

func (r *recentFailures) add(d rule.Decision, ns string) {
	d.Namespace = ns
	d.Detail = clipDetail(d.Detail)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ring) < recentFailuresMax {
		r.ring = append(r.ring, d)
		return
	}
	r.ring[r.next] = d
	r.next = (r.next + 1) % recentFailuresMax
}

// list returns a copy of the failures kept, the latest first.
func (r *recentFailures) list() []rule.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ring) == 0 {
		return nil
	}
	out := make([]rule.Decision, 0, len(r.ring))
	// Before the ring is full, next stays 0 and the latest is the last.
	for i := range len(r.ring) {
		k := (r.next - 1 - i + 2*len(r.ring)) % len(r.ring)
		out = append(out, r.ring[k])
	}
	return out
}

// failureDetailTail is how much of its end a clipped Detail keeps: the
// engine's own words follow the sender's error there ("; next attempt at
// …", "(permanent: not retried)", "; the lease ran out during the send…").
const failureDetailTail = 192

// clipDetail returns s as [Engine.RecentFailures] keeps it: see clipText.
func clipDetail(s string) string { return clipText(s, failureDetailMax, failureDetailTail) }

// clipText returns s cut to about max bytes: its start and its last tail
// bytes, each on a character's boundary where s has characters there,
// with a note of its full length in between; or s itself when short
// enough. The clipped text is a copy: s may be a large error's. A tail
// over max is max; one of 0 or less keeps no end.
func clipText(s string, max, tail int) string {
	if len(s) <= max {
		return s
	}
	switch {
	case tail > max:
		tail = max
	case tail < 0:
		tail = 0
	}
	head := linetext.Clip(s, max-tail)
	from := len(s) - tail
	for k := 0; k < utf8.UTFMax-1 && from < len(s) && !utf8.RuneStart(s[from]); k++ {
		from++
	}
	return head + " … (clipped: " + strconv.Itoa(len(s)) + " bytes in all) … " + s[from:]
}
