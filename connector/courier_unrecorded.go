package connector

import (
	"sync"
	"sync/atomic"
	"time"
)

// unrecorded keeps the outcomes of this engine's sends whose record the
// store never took: every call storing it failed, or gave no answer,
// until the delivery's lease ran out. The store still holds the delivery
// as being sent, in that attempt, and a claim of it would send it again.
// A claim of it by this engine records the kept outcome instead (with the
// time the send returned, as its record would have) and sends nothing.
// Another engine, or this one after a restart, knows nothing of the
// outcome and sends the delivery again, as after a crash.
//
// It keeps at most unrecordedMax outcomes, dropping the oldest: the
// outcome of a delivery another engine took over after the lease, or
// whose record a call reported as failed stored after all, is never
// claimed by this engine as the send left it.
type unrecorded struct {
	n   atomic.Int32 // len(m): a claim looks in m only when it is not empty
	mu  sync.Mutex
	m   map[unrecordedKey]*outcome
	seq uint64
}

// unrecordedMax bounds the outcomes an engine keeps. A store that fails
// every call stops the Tick after one record per send slot, so the bound
// is reached only by a store that fails records for long while it answers
// the claims.
const unrecordedMax = 1024

type unrecordedKey struct{ userID, id string }

// outcome is what the record of a send needs: the job's fields its
// record step reads.
type outcome struct {
	seq        uint64 // the order kept in, for dropping the oldest
	d          Delivery
	activation int64
	sendErr    error
	at         time.Time // when the send returned
	retryAt    time.Time
	leaseFrom  time.Time
}

// keep keeps the outcome of j's send, whose record the store never took.
// A delivery confirmed and not sent (the Tick stopped first) is not kept:
// its next claim sends it.
func (u *unrecorded) keep(j *job) {
	if j.sendErr == errNotSent {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = make(map[unrecordedKey]*outcome)
	}
	k := unrecordedKey{j.c.UserID, j.d.ID}
	if _, ok := u.m[k]; !ok && len(u.m) >= unrecordedMax {
		var oldest unrecordedKey
		first := true
		for key, o := range u.m {
			if first || o.seq < u.m[oldest].seq {
				oldest, first = key, false
			}
		}
		delete(u.m, oldest)
	}
	u.seq++
	u.m[k] = &outcome{seq: u.seq, d: j.d, activation: j.activation, sendErr: j.sendErr,
		at: j.now, retryAt: j.retryAt, leaseFrom: j.leaseFrom}
	u.n.Store(int32(len(u.m)))
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
	if ok {
		delete(u.m, k) // kept again if this record fails too (retryRecord)
		u.n.Store(int32(len(u.m)))
	}
	u.mu.Unlock()
	if !ok || o.activation != p.Activation || o.d.Attempt != p.Attempt {
		return false
	}
	e := j.w.e
	j.step, j.d, j.activation, j.sendErr = stepRecord, o.d, o.activation, o.sendErr
	j.now, j.retryAt, j.leaseFrom, j.leaseEnd = o.at, o.retryAt, o.leaseFrom, p.ReadyAt
	j.snap = e.snap.Load()
	j.camp = j.snap.campaign(p.CampaignID)
	j.retried = true // a call storing the record failed before
	return true
}
