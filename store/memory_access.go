package store

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/props"
)

// Update implements [Store.Update]. fn runs under the user's shard lock on
// a UserState built from the compact state and written back after it.
func (m *Memory) Update(ctx context.Context, ns, userID string, now time.Time, dedup Dedup, fn func(u *UserState, duplicate bool)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkNow(now); err != nil {
		return err
	}
	sp := m.space(ns)
	sh := &sp.shards[shardOf(userID)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	m.apply(sp, sh, userID, hashID(userID), now.UnixNano(), &dedup, fn)
	return nil
}

// ErrTimeRange reports a time the memory store cannot work at: it keeps
// its clock in Unix nanoseconds, which span the years 1678 to 2262. An
// Update, UpdateBatch op, Claim, Take or Prune whose now lies outside
// them fails with it, wrapped. Deliveries due later are kept exactly,
// and wait until the clock can reach them.
var ErrTimeRange = errors.New("store: time outside the memory store's range (1678 to 2262)")

// checkNow returns ErrTimeRange, wrapped with now, when now lies outside
// the memory store's range.
func checkNow(now time.Time) error {
	if inUnixNS(now) {
		return nil
	}
	return fmt.Errorf("%w: now is %s", ErrTimeRange, now.UTC().Format(time.RFC3339Nano))
}

// apply is Update on a shard whose lock the caller holds; h is
// hashID(userID), nowNS the time in Unix nanoseconds. It takes the time
// as nanoseconds and the Dedup by pointer so that its arguments fit in
// registers.
func (m *Memory) apply(sp *space, sh *shard, userID string, h uint32, nowNS int64, dedup *Dedup, fn func(u *UserState, duplicate bool)) {
	u := sh.users.get(userID, h)
	fresh := u == nil
	if fresh {
		u = newMemUser(userID, h)
	}
	u.expireSeen(nowNS, false)
	duplicate := false
	if dedup.EventID != "" {
		h := maphash.String(m.seed, dedup.EventID)
		if duplicate = u.isDuplicate(h, nowNS); !duplicate {
			until := unixNS(dedup.KeepUntil)
			u.remember(h, until)
			sh.horizon.note(until)
		}
	}
	st := sh.load(u)
	fn(st, duplicate)
	if sh.store(u, st) {
		sp.notify()
	}
	switch {
	case u.empty() && !fresh:
		sh.users.remove(userID, h)
	case !u.empty() && fresh:
		sh.users.put(u, h)
	}
}

// User implements [Store.User].
func (m *Memory) User(ctx context.Context, ns, userID string) (UserState, error) {
	if err := ctx.Err(); err != nil {
		return UserState{}, err
	}
	h := hashID(userID)
	sh := m.shard(m.space(ns), userID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	u := sh.users.get(userID, h)
	if u == nil || (u.pendingCount() == 0 && !u.hasState()) {
		return UserState{}, ErrNotFound
	}
	out := UserState{}
	for i := range u.pendingCount() {
		p := new(Pending)
		sh.materialize(u.pendingAt(i), u.id(), p)
		p.Trigger.Properties = props.Clone(p.Trigger.Properties) // a copy: the caller may change it
		out.Pending = append(out.Pending, p)
	}
	st := sh.state(u)
	out.Receipts, out.Sends, out.Conversions, out.Log = st.Receipts, st.Sends, st.Conversions, st.Log
	return out, nil
}

// NextDue implements [Store.NextDue]. Deliveries ready after 2262, where
// the store's clock cannot go, are ordered among themselves by shard: of
// several, NextDue may give a later one than the earliest.
func (m *Memory) NextDue(ctx context.Context, ns string) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, err
	}
	sp := m.space(ns)
	var best time.Time
	found := false
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		if it, ok := sh.due.top(); ok {
			at := unixTime(it.at)
			if f := it.p.full(); f != nil {
				at = f.ReadyAt // exact where it.at is clamped
			}
			if !found || at.Before(best) {
				best, found = at, true
			}
		}
		sh.mu.Unlock()
	}
	if !found {
		return time.Time{}, false, nil
	}
	return best, true, nil
}

// Claim implements [Store.Claim]. It hands out the earliest due
// deliveries of all the shards: each shard's earliest due one is noted,
// then the shards are merged by it, each giving deliveries while its next
// is not later than another shard's. A backlog larger than a batch is so
// handed out in due order across batches, not shard by shard.
func (m *Memory) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]Claim, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkNow(now); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	sp := m.space(ns)
	nowNS, until := now.UnixNano(), unixNS(now.Add(lease))
	var tops shardTops
	for i := range shardCount {
		sh := &sp.shards[i]
		sh.mu.Lock()
		it, ok := sh.claimable(now, nowNS, token, until)
		sh.mu.Unlock()
		if ok {
			tops.push(shardTop{at: it.at, shard: uint8(i)})
		}
	}
	var out []Claim
	for len(out) < limit && tops.n > 0 {
		t := tops.pop()
		next := int64(math.MaxInt64) // the next shard's earliest: this one gives until it passes that
		if tops.n > 0 {
			next = tops.h[0].at
		}
		sh := &sp.shards[t.shard]
		sh.mu.Lock()
		for {
			it, ok := sh.claimable(now, nowNS, token, until)
			if !ok || it.at > next || len(out) == limit {
				if ok { // the shard's next, for the merge
					tops.push(shardTop{at: it.at, shard: t.shard})
				}
				break
			}
			mp := it.p
			mp.lease(token, until)
			sh.due.replaceTop(mp) // its entry moves to the end of the lease
			if out == nil {
				out = m.claimBuffer(min(limit, 1024)) // grown by copying would cost more
			}
			mp.spellKeys() // the send's updates read it again: write the event ID out once
			out = append(out, Claim{UserID: mp.user.id()})
			sh.materialize(mp, mp.user.id(), &out[len(out)-1].Pending)
		}
		sh.mu.Unlock()
	}
	return out, nil
}

// claimable returns the shard's earliest delivery's entry, if it is due
// at now and not claimed by this call (token, until) already: a lease of
// zero leaves a claimed delivery due, and it is not handed out twice in
// one batch. sh.mu is held.
func (sh *shard) claimable(now time.Time, nowNS int64, token uint64, until int64) (dueItem, bool) {
	it, ok := sh.due.top()
	switch {
	case !ok || it.at > nowNS:
		return dueItem{}, false
	case it.at == math.MaxInt64 && it.p.full() != nil && it.p.full().ReadyAt.After(now):
		return dueItem{}, false // due after the clock's range ends, not at its last instant
	case it.p.leased(token, until):
		return dueItem{}, false
	}
	return it, true
}

// shardTop is a shard's earliest due delivery, for Claim's merge.
type shardTop struct {
	at    int64
	shard uint8
}

// shardTops is a binary min-heap of shardTop by at (then shard), in a
// fixed array: Claim's merge allocates nothing.
type shardTops struct {
	h [shardCount]shardTop
	n int
}

func (t *shardTops) less(i, j int) bool {
	a, b := &t.h[i], &t.h[j]
	return a.at < b.at || a.at == b.at && a.shard < b.shard
}

func (t *shardTops) push(x shardTop) {
	i := t.n
	t.h[i] = x
	t.n++
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(i, p) {
			break
		}
		t.h[i], t.h[p] = t.h[p], t.h[i]
		i = p
	}
}

func (t *shardTops) pop() shardTop {
	top := t.h[0]
	t.n--
	t.h[0] = t.h[t.n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < t.n && t.less(l, m) {
			m = l
		}
		if r < t.n && t.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
	return top
}

// claimBuffer returns an empty slice of capacity at least n, recycled if
// one is at hand.
func (m *Memory) claimBuffer(n int) []Claim {
	if p := m.claims.Load(); p != nil {
		if b, ok := p.Get().(*[]Claim); ok && cap(*b) >= n {
			return (*b)[:0]
		}
	}
	return make([]Claim, 0, n)
}

// RecycleClaims implements [ClaimRecycler].
func (m *Memory) RecycleClaims(claims []Claim) {
	p := m.claims.Load()
	if cap(claims) == 0 || p == nil { // nil: a zero store that never claimed
		return
	}
	claims = claims[:cap(claims)]
	clear(claims) // keep nothing alive through the pool
	claims = claims[:0]
	p.Put(&claims)
}

// CancelCampaign implements [Store.CancelCampaign]. It visits every user of
// the namespace: stopping a campaign is rare, tracking events is not, and
// this keeps the per-delivery memory down.
func (m *Memory) CancelCampaign(ctx context.Context, ns, campaignID string) ([]Claim, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sp := m.space(ns)
	through := sp.cancelThrough(campaignID)
	ofShape := sp.shapesOf(campaignID)
	var out []Claim
	var touched []*memUser
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		touched = touched[:0]
		sh.users.each(func(u *memUser) {
			for k := range u.pendingCount() {
				if u.pendingAt(k).of(ofShape, campaignID) {
					touched = append(touched, u)
					return
				}
			}
		})
		for _, u := range touched {
			out = sh.cancelOf(out, u, campaignID, through, nil)
		}
		sh.mu.Unlock()
	}
	return out, nil
}

// cancelThrough returns the highest activation of campaign campaignID
// whose deliveries a cancellation removes ([CancelThrough] of its record).
func (sp *space) cancelThrough(campaignID string) int64 {
	sp.campMu.Lock()
	rec, exists := sp.campaigns[campaignID]
	sp.campMu.Unlock()
	return CancelThrough(rec, exists)
}

// shapesOf returns, per shape of the namespace, whether its follow-up is
// campaignID (see [memPending.of]).
func (sp *space) shapesOf(campaignID string) []bool {
	var ofShape []bool
	sp.shapes.each(func(id uint32, s *shape) { ofShape = append(ofShape, s.campaign == campaignID) })
	return ofShape
}

// cancelOf removes user u's deliveries of campaign campaignID of an
// activation up to through (those whose ID picked reports, when picked
// is not nil), appends them to out and returns it, dropping u when it is
// left empty. Under the shard's lock.
func (sh *shard) cancelOf(out []Claim, u *memUser, campaignID string, through int64, picked func(id string) bool) []Claim {
	st := sh.load(u)
	kept := st.Pending[:0]
	for _, p := range st.Pending {
		if p.CampaignID == campaignID && p.Activation <= through && (picked == nil || picked(p.ID)) {
			out = append(out, Claim{UserID: u.id(), Pending: *p})
		} else {
			kept = append(kept, p)
		}
	}
	st.Pending = kept
	sh.store(u, st)
	if u.empty() {
		sh.users.remove(u.id(), u.hash)
	}
	return out
}

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
