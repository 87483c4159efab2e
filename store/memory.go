package store

import (
	"context"
	"hash/maphash"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/wordhash"
)

// pruneWalksAll makes Prune walk every shard, horizon or not (for the
// tests, which compare both).
var pruneWalksAll = false

// shardCount spreads users over independently locked shards, so that
// engines tracking events for different users rarely wait for each other.
const shardCount = 64

// Memory is a [Store] that keeps everything in process memory: fast, safe
// for concurrent use by any number of engines in the process, and gone when
// the process ends. Use it for tests, simulations and hosts that can afford
// to lose pending deliveries on restart. The zero Memory is an empty store,
// ready to use, as [NewMemory]'s is.
//
// Users are spread over 64 shards, each with its own lock, user table and
// due-time heap; campaigns have one lock per namespace. Pending deliveries
// are kept in a compact form (about 160 to 190 bytes for a user with one
// pending delivery and one remembered event ID, plus the user ID's bytes;
// the trigger's event ID is kept inline when it is at most 16 bytes long
// or a canonical UUID, all lower or all upper case, and comes back exactly
// as given) and turned into a [UserState] only for the duration of an Update;
// a user holding more than 16 keeps them whole instead, handed to the
// update as they are. Either way an update costs time linear in the
// user's state. Event IDs remembered for deduplication are kept as 64-bit
// hashes with their expiry (16 bytes each). Times come back in UTC. The
// store's clock runs in Unix nanoseconds: an operation at a time before
// 1678 or after 2262 fails with [ErrTimeRange], while a delivery due after
// 2262 is kept exactly and listed in its place.
//
// A shard's heap forgets cancelled and delivered deliveries lazily: their
// entries (and the records they point to) stay until they reach the top
// of the heap or until stale entries outnumber live ones, when the heap is
// compacted; a heap holds at most twice its live deliveries plus 1,024.
//
// Each shard keeps a horizon: the earliest time anything of its users
// expires (remembered event IDs, receipts, sends, conversion windows) and
// its oldest decision log entry. Prune walks only the shards whose horizon
// it has reached, so the engine's periodic prune costs next to nothing
// while nothing expires.
type Memory struct {
	mu     sync.Mutex                        // serializes namespace creation
	spaces atomic.Pointer[map[string]*space] // copy on write: lookups take no lock
	seed   maphash.Seed                      // hashes of remembered event IDs
	claims atomic.Pointer[sync.Pool]         // of *[]Claim, handed back by RecycleClaims; a pointer, for the runtime's list of pools must not keep the store alive
}

var (
	_ Store          = (*Memory)(nil)
	_ Notifier       = (*Memory)(nil)
	_ ClaimRecycler  = (*Memory)(nil)
	_ PendingCounter = (*Memory)(nil)
)

type space struct {
	name      string
	campMu    sync.Mutex
	campaigns map[string]CampaignRecord
	rev       atomic.Int64
	shapes    shapes
	shards    [shardCount]shard

	subMu   sync.Mutex
	subs    map[chan struct{}]struct{}
	hasSubs atomic.Bool

	miscMu       sync.Mutex
	counters     map[string]counter
	interactions []loggedEvent

	tallies memTallies // memory_tallies.go
}

type counter struct {
	n       int64
	expires int64
}

type loggedEvent struct {
	ev        event.Event
	keepUntil int64
}

// NewMemory returns an empty memory store. The zero Memory is one too:
// new(store.Memory) and NewMemory() are the same.
func NewMemory() *Memory {
	m := new(Memory)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLocked()
	return m
}

// initLocked readies a zero Memory, under m.mu. Every call reaches the
// seed and the pool after space, whose load of m.spaces sees them set.
func (m *Memory) initLocked() {
	if m.spaces.Load() != nil {
		return
	}
	m.seed = maphash.MakeSeed()
	m.claims.Store(new(sync.Pool))
	m.spaces.Store(&map[string]*space{})
}

// space returns namespace ns, creating it on first use. Engines look their
// namespace up on every call, from many goroutines: the map is replaced,
// never changed, so lookups are a plain read.
func (m *Memory) space(ns string) *space {
	if p := m.spaces.Load(); p != nil {
		if sp := (*p)[ns]; sp != nil {
			return sp
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLocked()
	old := *m.spaces.Load()
	if sp := old[ns]; sp != nil {
		return sp
	}
	sp := &space{name: ns, campaigns: make(map[string]CampaignRecord)}
	sp.shapes.init()
	for i := range sp.shards {
		// An empty shard has nothing to forget: every write that keeps
		// something with an expiry lowers the horizon, so the first Prune
		// need not walk the shard.
		sp.shards[i].sp, sp.shards[i].horizon = sp, horizon{expiry: math.MaxInt64, logAt: math.MaxInt64}
	}
	next := make(map[string]*space, len(old)+1)
	maps.Copy(next, old)
	next[ns] = sp
	m.spaces.Store(&next)
	return sp
}

// shard picks the user's shard with a fixed hash (wordhash),
// deterministic from run to run so that simulations replay in the same
// order; it reads the ID eight bytes at a time (byte-wise FNV-1a costs a
// dependent multiply per byte).
func (m *Memory) shard(sp *space, userID string) *shard { return &sp.shards[shardOf(userID)] }

// shardOf returns the index of the shard of user userID.
func shardOf(userID string) uint64 {
	return wordhash.Mix(wordhash.String(uint64(len(userID)), userID), 0xbf58476d1ce4e5b9) % shardCount
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

// Take implements [Store.Take].
func (m *Memory) Take(ctx context.Context, ns, key string, limit int64, now, expires time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := checkNow(now); err != nil {
		return false, err
	}
	sp := m.space(ns)
	sp.miscMu.Lock()
	defer sp.miscMu.Unlock()
	if sp.counters == nil {
		sp.counters = make(map[string]counter)
	}
	c := sp.counters[key]
	if c.expires <= now.UnixNano() {
		c = counter{} // expired: it starts over
	}
	if c.n >= limit {
		return false, nil
	}
	sp.counters[key] = counter{n: c.n + 1, expires: max(c.expires, unixNS(expires))}
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
		sp.interactions = append(sp.interactions, loggedEvent{ev: ev, keepUntil: unixNS(keepUntil)})
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
		sh.users.each(func(u *memUser) {
			n := u.pendingCount()
			st.Pending += int64(n)
			if n > 0 || u.hasState() {
				st.Users++
			}
		})
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

// PendingCount implements [PendingCounter.PendingCount] from the count of
// live deliveries each shard's due queue keeps: one lock per shard, no
// walk of the users.
func (m *Memory) PendingCount(ctx context.Context, ns string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	sp := m.space(ns)
	var n int64
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		n += int64(sh.due.live)
		sh.mu.Unlock()
	}
	return n, nil
}

// SeenCount returns how many event IDs the namespace remembers for
// deduplication (for tests and memory accounting), each ID once. An ID
// whose window has passed may still count until [Memory.Prune] forgets it;
// one seen again before that counts once, with its new window.
func (m *Memory) SeenCount(ns string) int64 {
	sp := m.space(ns)
	var n int64
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		sh.users.each(func(u *memUser) { n += int64(u.seenCount()) })
		sh.mu.Unlock()
	}
	return n
}

// Prune implements [Store.Prune]: a sweep of the users of the namespace,
// one shard at a time, skipping the shards whose horizon shows nothing to
// forget.
func (m *Memory) Prune(ctx context.Context, ns string, now, logBefore time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := checkNow(now); err != nil {
		return 0, err
	}
	sp := m.space(ns)
	nowNS, logBeforeNS := now.UnixNano(), unixNS(logBefore)
	removed := 0
	var empty []*memUser
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		if sh.horizon.nothingDue(nowNS, logBeforeNS) && !pruneWalksAll {
			sh.mu.Unlock()
			continue
		}
		empty = empty[:0]
		left := horizon{expiry: math.MaxInt64, logAt: math.MaxInt64}
		sh.users.each(func(u *memUser) {
			removed += u.expireSeen(nowNS, true)
			removed += u.pruneState(now, logBefore)
			if u.empty() {
				empty = append(empty, u)
			} else {
				u.bounds(&left)
			}
		})
		for _, u := range empty {
			sh.users.remove(u.id(), u.hash)
		}
		sh.horizon = left
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
