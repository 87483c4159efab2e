package store

import (
	"context"
	"hash/maphash"
	"math"
	"reflect"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// shard is one lock's worth of users with their due-time heap, and the
// buffers Update turns compact state into a UserState with.
type shard struct {
	mu      sync.Mutex
	sp      *space
	users   userTable
	due     dueHeap
	scratch scratch
	alloc   func() *Pending // sh.newPending, bound once
	names   nameCache
	horizon horizon
	_       [32]byte // keep hot shard locks on separate cache lines
}

// horizon bounds what a Prune of the shard can find: nothing expires
// before expiry (remembered event IDs, receipts, sends, conversion
// windows) and no decision log entry is older than logAt. Updates lower
// the bounds as they write; a Prune that walks the shard sets them to what
// it leaves; a Prune whose cut-offs fall short of them skips the shard's
// users (a walk reads every user's record: a cache miss each, once a
// minute, for usually nothing).
type horizon struct {
	known         bool // false until the first walk: everything may expire
	expiry, logAt int64
}

// note lowers the expiry bound to t (Unix ns).
func (h *horizon) note(t int64) { h.expiry = min(h.expiry, t) }

// noteLog lowers the log bound to t (Unix ns).
func (h *horizon) noteLog(t int64) { h.logAt = min(h.logAt, t) }

// nothingDue reports whether a Prune with these cut-offs would find nothing.
func (h *horizon) nothingDue(nowNS, logBeforeNS int64) bool {
	return h.known && nowNS < h.expiry && logBeforeNS <= h.logAt
}

// noteState lowers the bounds to the expiries of st's sends, conversion
// windows and log entries.
func (h *horizon) noteState(sends []Send, conversions []Conversion, log []rule.Decision) {
	for _, s := range sends {
		h.note(unixNS(s.Expires))
	}
	for _, c := range conversions {
		h.note(unixNS(c.Deadline))
	}
	if len(log) > 0 {
		h.noteLog(unixNS(log[0].At)) // oldest first
	}
}

// bounds lowers h to the earliest expiry and log entry of u.
func (u *memUser) bounds(h *horizon) {
	if u.seen.until != 0 {
		h.note(u.seen.until)
	}
	x := u.extra
	if x == nil {
		return
	}
	for _, r := range x.receipts {
		if r.expires != 0 {
			h.note(r.expires)
		}
	}
	if x.seen != nil {
		for _, e := range x.seen.list {
			h.note(e.until)
		}
		for _, until := range x.seen.index {
			h.note(until)
		}
	}
	if x.rest != nil {
		h.noteState(x.rest.Sends, x.rest.Conversions, x.rest.Log)
	}
}

// unixNS is t in Unix nanoseconds, clamped to the int64 range (UnixNano is
// undefined outside it).
func unixNS(t time.Time) int64 {
	switch {
	case t.Before(minUnixNS):
		return math.MinInt64
	case t.After(maxUnixNS):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var minUnixNS, maxUnixNS = time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)

// memUser is one user's state in compact form. Most users have at most one
// pending delivery and one remembered event ID, which live inline; the
// rest is in extra.
type memUser struct {
	idData *byte      // the user ID's bytes (id returns it)
	idLen  uint32     // its length
	hash   uint32     // hashID(id()): the table grows without reading the ID
	first  memPending // valid when first.flags&live != 0
	seen   seenEntry  // the first remembered event ID; until 0 when none
	extra  *userExtra
}

// userExtra holds what fewer users have: receipts (compact), and behind
// pointers what fewer still have.
type userExtra struct {
	receipts []memReceipt
	rest     *UserState    // Sends, Conversions, Log (Pending and Receipts unused); nil when none
	more     []*memPending // pending deliveries after the first
	seen     *seenSet      // remembered event IDs after the first; nil when none
}

// memReceipt is a Receipt in compact form.
type memReceipt struct {
	campaign    uint32
	at, expires int64 // Unix ns; expires 0: kept
}

// memPending is a Pending in compact form: identifiers interned, times in
// Unix nanoseconds, rarely set trigger fields behind one pointer.
type memPending struct {
	user       *memUser
	id         string
	triggerID  string
	trigTime   int64
	due        int64
	ready      int64
	token      uint64
	extra      *pendingExtra
	campaign   uint32 // interned names
	trigKind   uint32
	trigCamp   uint32
	activation uint32
	attempt    uint16
	flags      uint8
}

type pendingExtra struct {
	target, name string
	properties   map[string]any
	activation   int64 // when it does not fit the compact field
	attempt      int
}

const (
	live uint8 = 1 << iota
	sending
	cancelOnFailure
	backfilled
	control
	bigActivation // activation in extra
	bigAttempt    // attempt in extra
	moved         // new or re-timed during a store: the heap must follow
)

// newMemUser returns the record of a user with ID id, whose hashID is h.
// The ID is kept as a pointer and a 32-bit length, which leaves room for
// the hash in the 16 bytes of a string header (user IDs are far shorter
// than 4 GiB: the engine bounds them).
func newMemUser(id string, h uint32) *memUser {
	return &memUser{idData: unsafe.StringData(id), idLen: uint32(len(id)), hash: h}
}

// id returns the user's ID.
func (u *memUser) id() string { return unsafe.String(u.idData, u.idLen) }

func (u *memUser) pendingCount() int {
	n := 0
	if u.first.flags&live != 0 {
		n = 1
	}
	if u.extra != nil {
		n += len(u.extra.more)
	}
	return n
}

// pendingAt returns the i-th pending delivery (0: first).
func (u *memUser) pendingAt(i int) *memPending {
	if i == 0 {
		return &u.first
	}
	return u.extra.more[i-1]
}

func (u *memUser) seenCount() int {
	n := 0
	if u.seen.until != 0 {
		n = 1
	}
	if u.extra != nil && u.extra.seen != nil {
		n += len(u.extra.seen.list) + len(u.extra.seen.index)
	}
	return n
}

// hasState reports whether u holds receipts, sends, conversion windows or
// decisions (what a UserState has besides pending deliveries).
func (u *memUser) hasState() bool {
	return u.extra != nil && (len(u.extra.receipts) > 0 || u.extra.rest != nil)
}

func (u *memUser) empty() bool {
	return u.first.flags&live == 0 && u.seen.until == 0 && u.extra == nil
}

func (u *memUser) ensureExtra() *userExtra {
	if u.extra == nil {
		// Most users get extra state for a first receipt: allocate its
		// slot with it, one allocation instead of two.
		x := &struct {
			userExtra
			first [1]memReceipt
		}{}
		x.receipts = x.first[:0:1]
		u.extra = &x.userExtra
	}
	return u.extra
}

// trimExtra drops what holds nothing.
func (u *memUser) trimExtra() {
	x := u.extra
	if x == nil {
		return
	}
	if x.rest != nil && x.rest.IsEmpty() {
		x.rest = nil
	}
	if x.seen != nil && x.seen.empty() {
		x.seen = nil
	}
	if len(x.receipts) == 0 && x.rest == nil && len(x.more) == 0 && x.seen == nil {
		u.extra = nil
	}
}

// pruneState drops receipts, sends, conversion windows and log entries
// expired at now, and returns how many.
func (u *memUser) pruneState(now, logBefore time.Time) int {
	x := u.extra
	if x == nil {
		return 0
	}
	n := len(x.receipts)
	nowNS := now.UnixNano()
	x.receipts = slices.DeleteFunc(x.receipts, func(r memReceipt) bool { return r.expires != 0 && r.expires <= nowNS })
	n -= len(x.receipts)
	if x.rest != nil {
		n += x.rest.Prune(now, logBefore)
	}
	u.trimExtra()
	return n
}

// state returns a copy of what a UserState holds besides pending
// deliveries.
func (sh *shard) state(u *memUser) UserState {
	var out UserState
	if x := u.extra; x != nil {
		for _, r := range x.receipts {
			out.Receipts = append(out.Receipts, sh.receipt(r))
		}
		if x.rest != nil {
			c := x.rest.Clone()
			out.Sends, out.Conversions, out.Log = c.Sends, c.Conversions, c.Log
		}
	}
	return out
}

func (sh *shard) receipt(r memReceipt) Receipt {
	out := Receipt{CampaignID: sh.sp.names.name(r.campaign), At: unixTime(r.at)}
	if r.expires != 0 {
		out.Expires = unixTime(r.expires)
	}
	return out
}

// isDuplicate reports whether event ID hash h is remembered at now.
func (u *memUser) isDuplicate(h uint64, now int64) bool {
	if u.seen.until > now && u.seen.hash == h {
		return true
	}
	return u.extra != nil && u.extra.seen != nil && u.extra.seen.has(h, now)
}

func (u *memUser) remember(h uint64, until int64) {
	if u.seen.until == 0 {
		u.seen = seenEntry{h, until}
		return
	}
	x := u.ensureExtra()
	if x.seen == nil {
		x.seen = &seenSet{}
	}
	x.seen.add(h, until)
}

// expireSeen forgets expired event IDs; all also sweeps a map-held set.
func (u *memUser) expireSeen(now int64, all bool) int {
	n := 0
	if u.seen.until != 0 && u.seen.until <= now {
		u.seen = seenEntry{}
		n++
	}
	if u.extra != nil && u.extra.seen != nil {
		set := u.extra.seen
		if all {
			n += set.prune(now)
		} else {
			set.expire(now)
		}
		if u.seen.until == 0 && len(set.list) > 0 {
			u.seen, set.list = set.list[0], set.list[1:]
		}
	}
	return n
}

// scratch holds the UserState an Update hands to its function, built from
// the compact state and reused from one Update to the next (under the
// shard's lock).
type scratch struct {
	state    UserState
	list     []*Pending // the Pending list handed to fn, edited in place
	receipts []Receipt
	pend     []Pending     // the loaded deliveries: fn got &pend[j] for each
	from     []*memPending // where pend[j] was loaded from (nil once removed)
	spare    []Pending     // for NewPending
	final    []*memPending
}

// load builds the UserState of u.
func (sh *shard) load(u *memUser) *UserState {
	s := &sh.scratch
	n := u.pendingCount()
	if cap(s.pend) < n {
		s.pend = make([]Pending, n+4)
		s.from = make([]*memPending, 0, n+4)
	}
	s.list, s.from = s.list[:0], s.from[:0]
	for i := range n {
		mp := u.pendingAt(i)
		sh.materialize(mp, u.id(), &s.pend[i])
		s.list = append(s.list, &s.pend[i])
		s.from = append(s.from, mp)
	}
	st := &s.state
	st.Pending, st.Receipts = s.list, s.receipts[:0] // empty, not nil: a first SetReceipt reuses the array
	st.Sends, st.Conversions, st.Log = nil, nil, nil
	if x := u.extra; x != nil {
		for _, r := range x.receipts {
			st.Receipts = append(st.Receipts, sh.receipt(r))
		}
		s.receipts = st.Receipts[:0]
		if x.rest != nil {
			st.Sends, st.Conversions, st.Log = x.rest.Sends, x.rest.Conversions, x.rest.Log
		}
	}
	if sh.alloc == nil {
		sh.alloc = sh.newPending
		s.spare = make([]Pending, 0, 8)
	}
	s.state.alloc = sh.alloc
	s.spare = s.spare[:0]
	return &s.state
}

// newPending hands out scratch space for a pending delivery the engine
// schedules: its content is copied into compact form after the update.
func (sh *shard) newPending() *Pending {
	s := &sh.scratch
	if len(s.spare) == cap(s.spare) {
		return new(Pending) // do not move what was handed out
	}
	s.spare = s.spare[:len(s.spare)+1]
	p := &s.spare[len(s.spare)-1]
	*p = Pending{}
	return p
}

// materialize fills p from mp. (Field by field: a composite literal is
// built aside and copied, which cost a third of a cancellation's load.)
func (sh *shard) materialize(mp *memPending, userID string, p *Pending) {
	names := &sh.sp.names
	p.ID = mp.id
	p.CampaignID = names.name(mp.campaign)
	p.Activation = int64(mp.activation)
	p.Trigger.ID, p.Trigger.UserID = mp.triggerID, userID
	p.Trigger.Kind, p.Trigger.CampaignID = event.Kind(names.name(mp.trigKind)), names.name(mp.trigCamp)
	p.Trigger.Target, p.Trigger.Name, p.Trigger.Properties = "", "", nil
	p.Trigger.Time = unixTime(mp.trigTime)
	p.DueAt = unixTime(mp.due)
	p.ReadyAt = unixTime(mp.ready)
	p.Attempt = int(mp.attempt)
	p.Token = mp.token
	p.Sending = mp.flags&sending != 0
	p.CancelOnFailure = mp.flags&cancelOnFailure != 0
	p.Backfilled = mp.flags&backfilled != 0
	p.Control = mp.flags&control != 0
	if x := mp.extra; x != nil {
		p.Trigger.Target, p.Trigger.Name, p.Trigger.Properties = x.target, x.name, x.properties
		if mp.flags&bigActivation != 0 {
			p.Activation = x.activation
		}
		if mp.flags&bigAttempt != 0 {
			p.Attempt = x.attempt
		}
	}
}

// compact fills mp from p.
func (sh *shard) compact(p *Pending, u *memUser, mp *memPending) {
	if mp.flags&live != 0 && sh.sameDelivery(p, mp) {
		setMutable(p, mp) // the common case: a delivery the update only re-timed or marked
		return
	}
	*mp = memPending{
		user: u, id: p.ID, triggerID: p.Trigger.ID, trigTime: p.Trigger.Time.UnixNano(),
		due: p.DueAt.UnixNano(), campaign: sh.nameID(p.CampaignID), trigKind: sh.nameID(string(p.Trigger.Kind)),
		trigCamp: sh.nameID(p.Trigger.CampaignID),
	}
	if p.Trigger.Target != "" || p.Trigger.Name != "" || len(p.Trigger.Properties) > 0 {
		mp.extra = &pendingExtra{target: p.Trigger.Target, name: p.Trigger.Name, properties: p.Trigger.Properties}
	}
	if p.Activation >= 0 && p.Activation <= 1<<32-1 {
		mp.activation = uint32(p.Activation)
	} else {
		if mp.extra == nil {
			mp.extra = &pendingExtra{}
		}
		mp.extra.activation, mp.flags = p.Activation, mp.flags|bigActivation
	}
	setMutable(p, mp)
}

// sameDelivery reports whether p still describes the delivery mp holds:
// everything but the fields updates change is equal.
func (sh *shard) sameDelivery(p *Pending, mp *memPending) bool {
	names := &sh.sp.names
	x := mp.extra
	if x == nil {
		x = &pendingExtra{}
	}
	activation := int64(mp.activation)
	if mp.flags&bigActivation != 0 {
		activation = x.activation
	}
	return p.ID == mp.id && p.Trigger.ID == mp.triggerID && p.Trigger.Time.UnixNano() == mp.trigTime &&
		p.DueAt.UnixNano() == mp.due && p.Activation == activation &&
		p.CampaignID == names.name(mp.campaign) && string(p.Trigger.Kind) == names.name(mp.trigKind) &&
		p.Trigger.CampaignID == names.name(mp.trigCamp) &&
		p.Trigger.Target == x.target && p.Trigger.Name == x.name && sameMap(p.Trigger.Properties, x.properties)
}

// sameMap reports whether two property maps are the same map (or both empty).
func sameMap(a, b map[string]any) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// setMutable copies the fields updates change: timing, lease and flags.
func setMutable(p *Pending, mp *memPending) {
	mp.ready, mp.token = p.ReadyAt.UnixNano(), p.Token
	mp.flags = live | mp.flags&(bigActivation|moved) | flag(p.Sending, sending) |
		flag(p.CancelOnFailure, cancelOnFailure) | flag(p.Backfilled, backfilled) | flag(p.Control, control)
	if p.Attempt >= 0 && p.Attempt <= 1<<16-1 {
		mp.attempt = uint16(p.Attempt)
		return
	}
	if mp.extra == nil {
		mp.extra = &pendingExtra{}
	}
	mp.attempt, mp.extra.attempt, mp.flags = 0, p.Attempt, mp.flags|bigAttempt
}

// flag returns bit if on, else 0.
func flag(on bool, bit uint8) uint8 {
	if on {
		return bit
	}
	return 0
}

// store writes the UserState an update left back into u, keeping the due
// heap in step, and reports whether a delivery became the shard's earliest.
func (sh *shard) store(u *memUser, st *UserState) (earlier bool) {
	s := &sh.scratch
	// Loaded deliveries the update removed leave the heap; from[j] stays
	// set for the kept ones.
	for j := range s.from {
		q := &s.pend[j]
		found := false
		for _, p := range st.Pending {
			if p == q {
				found = true
				break
			}
		}
		if !found {
			s.from[j].flags = 0 // its heap entry goes stale
			s.from[j] = nil
			sh.due.live--
		}
	}
	s.final = s.final[:0]
	for _, p := range st.Pending {
		var mp *memPending
		for j := range s.from {
			if p == &s.pend[j] && s.from[j] != nil {
				mp = s.from[j]
				break
			}
		}
		fresh := mp == nil
		switch {
		case !fresh:
		case len(s.final) == 0 && u.first.flags&live == 0:
			mp = &u.first // the inline slot is free: no allocation
		default:
			mp = &memPending{}
		}
		ready := mp.ready
		sh.compact(p, u, mp)
		if fresh {
			sh.due.live++
		}
		if fresh || mp.ready != ready {
			mp.flags |= moved
		}
		s.final = append(s.final, mp)
	}
	sh.layout(u)
	if cap(st.Pending) > cap(s.list) {
		s.list = st.Pending[:0] // fn grew the list: keep its array for the next load
	}
	if slices.ContainsFunc(s.final, func(mp *memPending) bool { return mp.flags&moved != 0 }) {
		prev, queued := sh.due.top() // the shard's earliest before this update's entries
		earliest := int64(math.MaxInt64)
		for _, mp := range s.final {
			if mp.flags&moved == 0 {
				continue // neither new, re-timed nor moved: its entry is right
			}
			mp.flags &^= moved
			sh.due.push(mp)
			earliest = min(earliest, mp.ready)
		}
		earlier = !queued || earliest < prev.at
	}
	sh.due.tidy()
	// Everything else is kept as the engine left it.
	if len(st.Receipts) > 0 || u.extra != nil {
		x := u.ensureExtra()
		x.receipts = x.receipts[:0]
		for _, r := range st.Receipts {
			mr := memReceipt{campaign: sh.nameID(r.CampaignID), at: r.At.UnixNano()}
			if !r.Expires.IsZero() {
				mr.expires = r.Expires.UnixNano()
				sh.horizon.note(mr.expires)
			}
			x.receipts = append(x.receipts, mr)
		}
	}
	if len(st.Sends) > 0 || len(st.Conversions) > 0 || len(st.Log) > 0 {
		x := u.ensureExtra()
		if x.rest == nil {
			x.rest = &UserState{}
		}
		x.rest.Sends, x.rest.Conversions, x.rest.Log = st.Sends, st.Conversions, st.Log
		sh.horizon.noteState(st.Sends, st.Conversions, st.Log)
	} else if u.extra != nil {
		u.extra.rest = nil
	}
	u.trimExtra()
	clear(st.Receipts)
	if cap(st.Receipts) > cap(s.receipts) {
		s.receipts = st.Receipts[:0] // fn grew the list: keep its array for the next load
	}
	clear(s.list[:cap(s.list)])
	// The scratch deliveries are overwritten by the next load or
	// NewPending; until then they keep a few identifiers per shard alive,
	// but not the trigger's properties, which may be large. (Clearing
	// them whole cost more than the rest of a cancellation's store.)
	for i := range s.from {
		s.pend[i].Trigger.Properties = nil
	}
	for i := range s.spare {
		s.spare[i].Trigger.Properties = nil
	}
	return earlier
}

// layout puts the final list of pending deliveries in place: the first
// inline in u, the others behind u.extra. A delivery copied to a new
// address is marked moved, for a heap entry at its new address; the
// address it leaves is either reused (u.first) or abandoned, and then
// marked dead so that its old entry goes stale.
func (sh *shard) layout(u *memUser) {
	final := sh.scratch.final
	if len(final) == 0 {
		u.first = memPending{}
	} else if final[0] != &u.first {
		for k := 1; k < len(final); k++ {
			if final[k] == &u.first { // moved back in the list: give it a slot of its own
				out := new(memPending)
				*out = u.first
				out.flags |= moved
				final[k] = out
			}
		}
		src := final[0]
		u.first = *src
		u.first.flags |= moved
		src.flags = 0
		final[0] = &u.first
	}
	if len(final) > 1 {
		x := u.ensureExtra()
		x.more = append(x.more[:0], final[1:]...)
	} else if u.extra != nil {
		clear(u.extra.more)
		u.extra.more = u.extra.more[:0]
	}
}

// Update implements [Store.Update]. fn runs under the user's shard lock on
// a UserState built from the compact state and written back after it.
func (m *Memory) Update(ctx context.Context, ns, userID string, now time.Time, dedup Dedup, fn func(u *UserState, duplicate bool)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sp := m.space(ns)
	h := hashID(userID)
	sh := m.shard(sp, userID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	u := sh.users.get(userID, h)
	fresh := u == nil
	if fresh {
		u = newMemUser(userID, h)
	}
	nowNS := now.UnixNano()
	u.expireSeen(nowNS, false)
	duplicate := false
	if dedup.EventID != "" {
		h := maphash.String(m.seed, dedup.EventID)
		if duplicate = u.isDuplicate(h, nowNS); !duplicate {
			until := dedup.KeepUntil.UnixNano()
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
	return nil
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
		out.Pending = append(out.Pending, p)
	}
	st := sh.state(u)
	out.Receipts, out.Sends, out.Conversions, out.Log = st.Receipts, st.Sends, st.Conversions, st.Log
	return out, nil
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
		if it, ok := sh.due.top(); ok && (!found || it.at < best) {
			best, found = it.at, true
		}
		sh.mu.Unlock()
	}
	if !found {
		return time.Time{}, false, nil
	}
	return unixTime(best), true, nil
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
	nowNS, until := now.UnixNano(), now.Add(lease).UnixNano()
	var out []Claim
	start := m.rotate.Add(1)
	for i := range uint32(shardCount) {
		sh := &sp.shards[(start+i)%shardCount]
		sh.mu.Lock()
		for len(out) < limit {
			it, ok := sh.due.top()
			if !ok || it.at > nowNS {
				break
			}
			mp := it.p
			if mp.token == token && mp.ready == until {
				break // claimed by this call already (a lease of zero): not twice in one batch
			}
			mp.token, mp.ready = token, until
			sh.due.replaceTop(mp) // its entry moves to the end of the lease
			if out == nil {
				out = m.claimBuffer(min(limit, 1024)) // grown by copying would cost more
			}
			out = append(out, Claim{UserID: mp.user.id()})
			sh.materialize(mp, mp.user.id(), &out[len(out)-1].Pending)
		}
		sh.mu.Unlock()
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

// claimBuffer returns an empty slice of capacity at least n, recycled if
// one is at hand.
func (m *Memory) claimBuffer(n int) []Claim {
	if b, ok := m.claims.Get().(*[]Claim); ok && cap(*b) >= n {
		return (*b)[:0]
	}
	return make([]Claim, 0, n)
}

// RecycleClaims implements [ClaimRecycler].
func (m *Memory) RecycleClaims(claims []Claim) {
	if cap(claims) == 0 {
		return
	}
	claims = claims[:cap(claims)]
	clear(claims) // keep nothing alive through the pool
	claims = claims[:0]
	m.claims.Put(&claims)
}

// CancelCampaign implements [Store.CancelCampaign]. It visits every user of
// the namespace: stopping a campaign is rare, tracking events is not, and
// this keeps the per-delivery memory down.
func (m *Memory) CancelCampaign(ctx context.Context, ns, campaignID string) ([]Claim, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sp := m.space(ns)
	id, known := sp.names.lookup(campaignID)
	if !known {
		return nil, nil
	}
	var out []Claim
	var touched []*memUser
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		touched = touched[:0]
		sh.users.each(func(u *memUser) {
			for k := range u.pendingCount() {
				if u.pendingAt(k).campaign == id {
					touched = append(touched, u)
					return
				}
			}
		})
		for _, u := range touched {
			st := sh.load(u)
			kept := st.Pending[:0]
			for _, p := range st.Pending {
				if p.CampaignID == campaignID {
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
		}
		sh.mu.Unlock()
	}
	return out, nil
}

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
