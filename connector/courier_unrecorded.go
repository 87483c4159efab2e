package connector

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// unrecorded keeps the outcomes of this engine's sends whose record the
// store never took: every call storing it failed, or gave no answer,
// until the delivery's lease ran out. The store still holds the delivery
// as being sent, in that attempt, and a claim of it would send it again.
// Each Tick of the engine first tries those records once more, under the
// token of the claim that sent them (recordKept): while no other engine
// has claimed the delivery, that is the record the send would have
// stored, and a claim of another engine that comes first finds the
// delivery gone once a send that went through is recorded. A claim of the
// delivery by this engine records the kept outcome too (restore), rather
// than send it again. Another engine that claims and confirms the
// delivery before, or this one after a restart, knows nothing of the
// outcome and sends the delivery again, as after a crash.
//
// It keeps at most unrecordedMax outcomes, dropping the oldest.
type unrecorded struct {
	n   atomic.Int32 // len(m): a claim looks in m only when it is not empty
	mu  sync.Mutex
	m   map[unrecordedKey]*outcome
	seq uint64
}

// unrecordedMax bounds the outcomes an engine keeps. A store that fails
// a record stops its Tick's new sends, so a Tick keeps at most one outcome
// per send slot, and the next Tick stores them first once the store
// answers: the bound is reached by a send concurrency above it, or by
// Ticks at once, or by a store that fails records for long while it
// answers the claims.
const unrecordedMax = 1024

type unrecordedKey struct{ userID, id string }

// outcome is what the record of a send needs: the job's fields its
// record step reads.
type outcome struct {
	seq        uint64 // the order kept in, for dropping the oldest
	userID     string
	token      uint64 // the claim's that sent it
	d          Delivery
	activation int64
	sendErr    error
	at         time.Time // when the send returned
	retryAt    time.Time
	leaseFrom  time.Time
	seen       time.Time // the receipt its confirmation found
	recording  bool      // a Tick is storing it (recordKept): guarded by unrecorded.mu
}

// keep keeps the outcome of j's send, whose record the store never took,
// and returns the outcome it dropped to make room, if any. A delivery
// confirmed and not sent (the Tick stopped first) is not kept: its next
// claim sends it.
func (u *unrecorded) keep(j *job) (dropped *outcome) {
	if j.sendErr == errNotSent {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = make(map[unrecordedKey]*outcome)
	}
	k := unrecordedKey{j.c.UserID, j.d.ID}
	if _, ok := u.m[k]; !ok && len(u.m) >= unrecordedMax {
		// The oldest goes, unless a Tick is storing it: then the oldest
		// of the others, which that Tick's record cannot save.
		var oldest *outcome
		for _, o := range u.m {
			if oldest == nil || o.recording == oldest.recording && o.seq < oldest.seq || oldest.recording && !o.recording {
				oldest = o
			}
		}
		dropped = oldest
		delete(u.m, unrecordedKey{oldest.userID, oldest.d.ID})
	}
	u.seq++
	u.m[k] = &outcome{seq: u.seq, userID: j.c.UserID, token: j.token, d: j.d, activation: j.activation,
		sendErr: j.sendErr, at: j.now, retryAt: j.retryAt, leaseFrom: j.leaseFrom, seen: j.seenReceipt}
	u.n.Store(int32(len(u.m)))
	return dropped
}

// forget logs the outcomes dropped for want of room: their deliveries are
// sent again after their lease.
func (e *Engine) forget(dropped ...*outcome) {
	for _, o := range dropped {
		if o != nil {
			e.logError("forgetting a send's outcome", fmt.Errorf("more than %d sends wait for the store to take their record: the outcome of delivery %s (user %q, attempt %d) is forgotten, and the delivery is sent again after its lease",
				unrecordedMax, o.d.ID, o.userID, o.d.Attempt))
		}
	}
}

// keptOnReturn is how many deliveries reportKept names.
const keptOnReturn = 5

// reportKept logs at Error, as Run returns, the outcomes the engine keeps
// because the store never took their record: they wait for its next Tick
// or Run, and go with the process if it exits, their deliveries then sent
// again after their lease, with the same IDs. An operator who sees it
// before a restart knows which sends may repeat.
func (e *Engine) reportKept() {
	if e.unrecorded.n.Load() == 0 {
		return
	}
	// A Tick beside Run (the host's) may have stored them since.
	n, first := e.unrecorded.oldest(keptOnReturn)
	if n == 0 {
		return
	}
	more := ""
	if n > len(first) {
		more = fmt.Sprintf(" and %d more", n-len(first))
	}
	sends := "sends"
	if n == 1 {
		sends = "send"
	}
	e.logError("run", fmt.Errorf("returning while the store has not taken the record of %d %s: the engine keeps their outcomes for its next Tick or Run; if the process exits, their deliveries are sent again after their lease, with the same IDs (%s%s)",
		n, sends, strings.Join(first, ", "), more))
}

// oldest returns how many outcomes are kept and the delivery IDs of the
// oldest of them, at most max, oldest first, each with its user.
func (u *unrecorded) oldest(max int) (int, []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	outs := u.byAge(func(*outcome) bool { return true })
	ids := make([]string, 0, min(max, len(outs)))
	for _, o := range outs[:min(max, len(outs))] {
		ids = append(ids, fmt.Sprintf("delivery %s of user %q", o.d.ID, o.userID))
	}
	return len(outs), ids
}

// takeAll marks the kept outcomes that no Tick records yet as being
// recorded, and returns them, oldest first. They stay kept meanwhile: a
// claim of their delivery by this engine steps aside (restore) rather
// than send it again.
func (u *unrecorded) takeAll() []*outcome {
	u.mu.Lock()
	defer u.mu.Unlock()
	outs := u.byAge(func(o *outcome) bool { return !o.recording })
	for _, o := range outs {
		o.recording = true
	}
	return outs
}

// byAge returns the kept outcomes that take, oldest first; u.mu is held.
func (u *unrecorded) byAge(take func(*outcome) bool) []*outcome {
	outs := make([]*outcome, 0, len(u.m))
	for _, o := range u.m {
		if take(o) {
			outs = append(outs, o)
		}
	}
	slices.SortFunc(outs, func(a, b *outcome) int { return cmp.Compare(a.seq, b.seq) })
	return outs
}

// done ends the record of o, taken by takeAll: stored, o is no longer
// kept; else it is kept for the next try. An outcome dropped or replaced
// by a later one of its delivery meanwhile is left as it is.
func (u *unrecorded) done(o *outcome, stored bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := unrecordedKey{o.userID, o.d.ID}
	if u.m[k] != o {
		return
	}
	if !stored {
		o.recording = false
		return
	}
	delete(u.m, k)
	u.n.Store(int32(len(u.m)))
}

// ready sets j, reset, to record o: the fields of the job that sent it
// which its record step reads.
func (o *outcome) ready(j *job) {
	e := j.w.e
	j.step, j.d, j.activation, j.sendErr = stepRecord, o.d, o.activation, o.sendErr
	j.now, j.retryAt, j.leaseFrom, j.seenReceipt = o.at, o.retryAt, o.leaseFrom, o.seen
	j.snap = e.snap.Load()
	j.camp = j.snap.campaign(o.d.CampaignID)
	j.retried = true // a call that failed may have stored the record all the same (its reply lost)
}

// restore readies j to record a kept outcome of its claim's delivery,
// and reports whether it did: the claim finds the delivery as that send
// left it, being sent in the same attempt of the same activation. A kept
// outcome the claim finds otherwise is dropped: another engine sent the
// delivery since, or a call stored its record after all.
func (u *unrecorded) restore(j *job) bool {
	p := &j.c.Pending
	if !p.Sending || u.n.Load() == 0 {
		return false
	}
	u.mu.Lock()
	k := unrecordedKey{j.c.UserID, p.ID}
	o, ok := u.m[k]
	recording := ok && o.recording
	if ok && !recording {
		delete(u.m, k) // kept again if this record fails too (retryRecord)
		u.n.Store(int32(len(u.m)))
	}
	u.mu.Unlock()
	if !ok || o.activation != p.Activation || o.d.Attempt != p.Attempt {
		return false
	}
	if recording {
		// Another Tick of this engine is storing it (recordKept): the
		// claim gives the delivery back for a second, and nothing is
		// sent. The claim after that finds it delivered, or, if that
		// record failed, records the outcome.
		j.step = stepLater
		return true
	}
	o.ready(j)
	j.leaseEnd = p.ReadyAt
	// The claim found the delivery as the send left it: none of the
	// calls that failed stored the record (a stored one would have
	// removed it, or given it back for a retry), and they have all
	// ended. The record is as a first call's, which a stop removing the
	// delivery under the claim's lease leaves its outcome to
	// (stoppedDuringSend).
	j.retried = false
	return true
}

// recordKept tries once more, before the Tick's first claim, to store
// the outcomes the engine keeps, each under the token of the claim that
// sent it. A record that fails keeps its outcome (and those not tried
// yet) for the next Tick; a failure here is no error of the Tick's: its
// claims tell whether the store answers.
func (w *courier) recordKept() {
	e := w.e
	if e.unrecorded.n.Load() == 0 || len(w.slots) == 0 || w.stopping() {
		return
	}
	outs := e.unrecorded.takeAll()
	j := &w.slots[0].jobs[0]
	// outs[next:] are still marked as being recorded. Whatever ends the
	// tries (a failed record, or a panic of the store or of an observer
	// that unwinds the Tick), they are kept for the next Tick: an
	// outcome left marked would never be tried again, and the engine's
	// claims of its delivery would give it back for ever.
	next := 0
	defer func() {
		for _, o := range outs[next:] {
			e.unrecorded.done(o, false)
		}
		j.clear()
	}()
	for k, o := range outs {
		next = k
		j.reset()
		j.c = store.Claim{UserID: o.userID, Pending: store.Pending{ID: o.d.ID, CampaignID: o.d.CampaignID, Activation: o.activation}}
		j.token = o.token
		o.ready(j)
		if err := e.updateAlone(w.ctx, &store.Op{UserID: o.userID, Now: j.now, Fn: j.apply}); err != nil {
			return
		}
		e.unrecorded.done(o, true)
		next = k + 1
		e.tally(j.marks, j.now, o.userID, "tick")
		e.observeAll(j.dec)
		e.failures.note(j.dec, e.cfg.namespace)
	}
}

// Record retries start at recordRetry and double up to recordRetryMax,
// while the delivery's lease lives.
const (
	recordRetry    = 10 * time.Millisecond
	recordRetryMax = time.Second
)

// retryRecord stores the outcome of j's send after err, with a short
// backoff, until the delivery's lease ends; then the Tick fails with the
// last error, and the engine keeps the outcome (unrecorded): its next
// Tick stores it first, and a claim of the delivery by this engine
// records it rather than send the delivery again (another engine's claim
// that reaches its last check first sends it again). A delivery
// the keeper found gone (a stop removed it) is never sent again, by any
// engine, and its send's outcome lives in this record alone: its retries
// last a lease from their start, however little of its own lease is left,
// whether the keeper found it gone before they started or finds it gone
// during them (a stop during a short send, before the keeper looked). The
// lease's end is the one it had when the retries started: the keeper
// renews a lease whose record is retried, and the retries must end.
// A closed store never answers again: its error ends the retries at once,
// with the same outcome sooner.
func (s *slot) retryRecord(j *job, err error) {
	e := s.w.e
	until := s.leaseEnd(j)
	more := e.cfg.clock.Now().Add(e.cfg.lease)
	for wait := recordRetry; ; wait = min(2*wait, recordRetryMax) {
		if more.After(until) && s.gone(j) {
			until = more
		}
		now := e.cfg.clock.Now()
		if errors.Is(err, store.ErrClosed) || !now.Add(wait).Before(until) {
			e.forget(e.unrecorded.keep(j))
			s.w.fail(fmt.Errorf("connector: tick: recording delivery %s: %w", j.c.Pending.ID, err))
			return
		}
		t := e.cfg.clock.Timer(wait)
		<-t.C
		j.step = stepRecord
		if err = e.updateAlone(s.w.wctx, &store.Op{UserID: j.c.UserID, Now: j.now, Fn: j.apply}); err == nil {
			e.tally(j.marks, j.now, j.c.UserID, "tick")
			e.observeAll(j.dec)
			e.failures.note(j.dec, e.cfg.namespace)
			return
		}
	}
}
