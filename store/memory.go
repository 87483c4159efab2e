package store

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

// shardCount spreads users over independently locked shards, so that
// engines tracking events for different users rarely wait for each other.
const shardCount = 64

// Memory is a [Store] that keeps everything in process memory: fast, safe
// for concurrent use by any number of engines in the process, and gone when
// the process ends. Use it for tests, simulations and hosts that can afford
// to lose pending deliveries on restart.
//
// Users are spread over 64 shards, each with its own lock, user map and
// due-time heap; campaigns have one lock per namespace.
type Memory struct {
	mu     sync.RWMutex
	spaces map[string]*space
	rotate atomic.Uint32 // first shard of the next Claim, for fairness
}

var (
	_ Store    = (*Memory)(nil)
	_ Notifier = (*Memory)(nil)
)

type space struct {
	campMu    sync.Mutex
	campaigns map[string]CampaignRecord
	rev       atomic.Int64
	shards    [shardCount]shard

	subMu   sync.Mutex
	subs    map[chan struct{}]struct{}
	hasSubs atomic.Bool

	miscMu       sync.Mutex
	counters     map[string]counter
	interactions []loggedEvent
}

type counter struct {
	n       int64
	expires int64
}

type loggedEvent struct {
	ev        event.Event
	keepUntil int64
}

type shard struct {
	mu    sync.Mutex
	users map[string]*memUser
	due   dueHeap
	_     [40]byte // keep hot shard locks on separate cache lines
}

type memUser struct {
	state UserState
	seen  seenSet
}

// NewMemory returns an empty memory store.
func NewMemory() *Memory {
	return &Memory{spaces: make(map[string]*space)}
}

func (m *Memory) space(ns string) *space {
	m.mu.RLock()
	sp := m.spaces[ns]
	m.mu.RUnlock()
	if sp != nil {
		return sp
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if sp = m.spaces[ns]; sp == nil {
		sp = &space{campaigns: make(map[string]CampaignRecord)}
		for i := range sp.shards {
			sp.shards[i].users = make(map[string]*memUser)
		}
		m.spaces[ns] = sp
	}
	return sp
}

// shard picks the user's shard with FNV-1a: deterministic from run to run,
// so that simulations replay in the same order.
func (m *Memory) shard(sp *space, userID string) *shard {
	h := uint32(2166136261)
	for i := 0; i < len(userID); i++ {
		h = (h ^ uint32(userID[i])) * 16777619
	}
	return &sp.shards[h%shardCount]
}

// Campaigns implements [Store.Campaigns].
func (m *Memory) Campaigns(ctx context.Context, ns string) (int64, []CampaignRecord, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	sp := m.space(ns)
	sp.campMu.Lock()
	defer sp.campMu.Unlock()
	out := make([]CampaignRecord, 0, len(sp.campaigns))
	for _, rec := range sp.campaigns {
		rec.Campaign = rec.Campaign.Clone()
		out = append(out, rec)
	}
	return sp.rev.Load(), out, nil
}

// Revision implements [Store.Revision]; it is one atomic load.
func (m *Memory) Revision(ctx context.Context, ns string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return m.space(ns).rev.Load(), nil
}

// UpdateCampaign implements [Store.UpdateCampaign].
func (m *Memory) UpdateCampaign(ctx context.Context, ns, id string, fn func(rec *CampaignRecord, exists bool) error) (CampaignRecord, error) {
	if err := ctx.Err(); err != nil {
		return CampaignRecord{}, err
	}
	sp := m.space(ns)
	sp.campMu.Lock()
	defer sp.campMu.Unlock()
	rec, exists := sp.campaigns[id]
	rec.Campaign = rec.Campaign.Clone() // fn works on a copy: an error leaves the stored record intact
	if err := fn(&rec, exists); err != nil {
		return CampaignRecord{}, err
	}
	rec.Campaign = rec.Campaign.Clone() // the caller keeps no alias into the store
	rec.Revision = sp.rev.Add(1)
	sp.campaigns[id] = rec
	rec.Campaign = rec.Campaign.Clone()
	return rec, nil
}

// CancelCampaign implements [Store.CancelCampaign]. It visits every user of
// the namespace: stopping a campaign is rare, tracking events is not, and
// this keeps the per-delivery memory down.
func (m *Memory) CancelCampaign(ctx context.Context, ns, campaignID string) ([]Claim, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sp := m.space(ns)
	var out []Claim
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		for id, mu := range sh.users {
			kept := mu.state.Pending[:0]
			for _, p := range mu.state.Pending {
				if p.CampaignID != campaignID {
					kept = append(kept, p)
					continue
				}
				sh.due.remove(p)
				out = append(out, Claim{UserID: id, Pending: *p})
			}
			clear(mu.state.Pending[len(kept):])
			mu.state.Pending = kept
			if mu.state.IsEmpty() && mu.seen.empty() {
				delete(sh.users, id)
			}
		}
		sh.mu.Unlock()
	}
	return out, nil
}

// Update implements [Store.Update]. fn runs under the user's shard lock and
// works on the stored state directly: no copy is made.
func (m *Memory) Update(ctx context.Context, ns, userID string, now time.Time, dedup Dedup, fn func(u *UserState, duplicate bool)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sp := m.space(ns)
	sh := m.shard(sp, userID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	mu := sh.users[userID]
	if mu == nil {
		mu = &memUser{}
	}
	nowNS := now.UnixNano()
	mu.seen.expire(nowNS)
	duplicate := false
	if dedup.EventID != "" {
		duplicate = mu.seen.has(dedup.EventID, nowNS)
		if !duplicate {
			mu.seen.add(dedup.EventID, dedup.KeepUntil.UnixNano())
		}
	}
	var buf [4]*Pending
	before := append(buf[:0], mu.state.Pending...)
	fn(&mu.state, duplicate)
	if sh.reconcile(before, mu.state.Pending) {
		sp.notify()
	}
	if mu.state.IsEmpty() && mu.seen.empty() {
		delete(sh.users, userID)
	} else {
		sh.users[userID] = mu
	}
	return nil
}

// reconcile makes the due heap reflect the user's pending deliveries after
// an update: removed ones leave it, new ones join it, moved ones move. It
// reports whether one of them became the shard's earliest.
func (sh *shard) reconcile(before, after []*Pending) (earlier bool) {
	for _, p := range before {
		found := false
		for _, q := range after {
			if q == p {
				found = true
				break
			}
		}
		if !found {
			sh.due.remove(p)
		}
	}
	for _, p := range after {
		if p.queued == 0 {
			sh.due.push(p)
		} else {
			sh.due.fix(p)
		}
		earlier = earlier || p.queued == 1
	}
	return earlier
}

// Notify implements [Notifier]: the channel receives a value whenever an
// update makes a delivery the earliest of its shard.
func (m *Memory) Notify(ns string) (<-chan struct{}, func()) {
	sp := m.space(ns)
	ch := make(chan struct{}, 1)
	sp.subMu.Lock()
	if sp.subs == nil {
		sp.subs = make(map[chan struct{}]struct{})
	}
	sp.subs[ch] = struct{}{}
	sp.hasSubs.Store(true)
	sp.subMu.Unlock()
	return ch, func() {
		sp.subMu.Lock()
		delete(sp.subs, ch)
		sp.hasSubs.Store(len(sp.subs) > 0)
		sp.subMu.Unlock()
	}
}

func (sp *space) notify() {
	if !sp.hasSubs.Load() {
		return
	}
	sp.subMu.Lock()
	for ch := range sp.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	sp.subMu.Unlock()
}

// User implements [Store.User].
func (m *Memory) User(ctx context.Context, ns, userID string) (UserState, error) {
	if err := ctx.Err(); err != nil {
		return UserState{}, err
	}
	sh := m.shard(m.space(ns), userID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	mu := sh.users[userID]
	if mu == nil || mu.state.IsEmpty() {
		return UserState{}, ErrNotFound
	}
	return mu.state.Clone(), nil
}

// NextDue implements [Store.NextDue].
func (m *Memory) NextDue(ctx context.Context, ns string) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, err
	}
	sp := m.space(ns)
	var best int64
	found := false
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		if len(sh.due) > 0 && (!found || sh.due[0].at < best) {
			best, found = sh.due[0].at, true
		}
		sh.mu.Unlock()
	}
	if !found {
		return time.Time{}, false, nil
	}
	return time.Unix(0, best).UTC(), true, nil
}

// Claim implements [Store.Claim]. Shards are visited round-robin from a
// rotating start, each giving its earliest due deliveries.
func (m *Memory) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]Claim, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	sp := m.space(ns)
	nowNS, until := now.UnixNano(), now.Add(lease)
	var out []Claim
	start := m.rotate.Add(1)
	for i := range uint32(shardCount) {
		sh := &sp.shards[(start+i)%shardCount]
		sh.mu.Lock()
		for len(out) < limit && len(sh.due) > 0 && sh.due[0].at <= nowNS {
			p := sh.due[0].p
			p.Token = token
			p.ReadyAt = until
			sh.due.fix(p)
			c := Claim{UserID: p.Trigger.UserID, Pending: *p}
			c.Pending.queued = 0
			out = append(out, c)
		}
		sh.mu.Unlock()
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

// Prune implements [Store.Prune]: a sweep of every user of the namespace,
// one shard at a time.
func (m *Memory) Prune(ctx context.Context, ns string, now, logBefore time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	sp := m.space(ns)
	nowNS := now.UnixNano()
	removed := 0
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		for id, mu := range sh.users {
			removed += mu.seen.prune(nowNS) + mu.state.Prune(now, logBefore)
			if mu.state.IsEmpty() && mu.seen.empty() {
				delete(sh.users, id)
			}
		}
		sh.mu.Unlock()
	}
	sp.miscMu.Lock()
	for k, c := range sp.counters {
		if c.expires <= nowNS {
			delete(sp.counters, k)
			removed++
		}
	}
	kept := sp.interactions[:0]
	for _, l := range sp.interactions {
		if l.keepUntil > nowNS {
			kept = append(kept, l)
		}
	}
	removed += len(sp.interactions) - len(kept)
	clear(sp.interactions[len(kept):])
	sp.interactions = kept
	sp.miscMu.Unlock()
	return removed, nil
}

// SeenCount returns how many event IDs the namespace remembers for
// deduplication (for tests and memory accounting).
func (m *Memory) SeenCount(ns string) int64 {
	sp := m.space(ns)
	var n int64
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		for _, mu := range sh.users {
			n += int64(len(mu.seen.list) + len(mu.seen.index))
		}
		sh.mu.Unlock()
	}
	return n
}

// Take implements [Store.Take].
func (m *Memory) Take(ctx context.Context, ns, key string, limit int64, expires time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	sp := m.space(ns)
	sp.miscMu.Lock()
	defer sp.miscMu.Unlock()
	if sp.counters == nil {
		sp.counters = make(map[string]counter)
	}
	c := sp.counters[key]
	if c.n >= limit {
		return false, nil
	}
	sp.counters[key] = counter{n: c.n + 1, expires: max(c.expires, expires.UnixNano())}
	return true, nil
}

// AppendInteractions implements [Store.AppendInteractions].
func (m *Memory) AppendInteractions(ctx context.Context, ns string, events []event.Event, keepUntil time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sp := m.space(ns)
	sp.miscMu.Lock()
	defer sp.miscMu.Unlock()
	for _, ev := range events {
		sp.interactions = append(sp.interactions, loggedEvent{ev: ev, keepUntil: keepUntil.UnixNano()})
	}
	return nil
}

// Interactions implements [Store.Interactions]. It copies the matching
// events and sorts them: backfills are rare, appends are not.
func (m *Memory) Interactions(ctx context.Context, ns string, q InteractionQuery, fn func(event.Event) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sp := m.space(ns)
	sp.miscMu.Lock()
	var out []event.Event
	for i := range sp.interactions {
		if ev := &sp.interactions[i].ev; q.Matches(ev) {
			out = append(out, *ev)
		}
	}
	sp.miscMu.Unlock()
	slices.SortStableFunc(out, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
	for _, ev := range out {
		if !fn(ev) {
			return nil
		}
	}
	return nil
}

// Stats implements [Store.Stats].
func (m *Memory) Stats(ctx context.Context, ns string) (Stats, error) {
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	sp := m.space(ns)
	var st Stats
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		for _, mu := range sh.users {
			if !mu.state.IsEmpty() {
				st.Users++
			}
			st.Pending += int64(len(mu.state.Pending))
		}
		sh.mu.Unlock()
	}
	sp.campMu.Lock()
	st.Campaigns = int64(len(sp.campaigns))
	sp.campMu.Unlock()
	sp.miscMu.Lock()
	st.Interactions = int64(len(sp.interactions))
	sp.miscMu.Unlock()
	return st, nil
}
