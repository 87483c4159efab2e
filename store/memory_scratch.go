package store

import (
	"math"
	"reflect"
	"slices"
)

// scratch holds the UserState an Update hands to its function, built from
// the compact state and reused from one Update to the next (under the
// shard's lock).
type scratch struct {
	state  UserState
	list   []*Pending    // the Pending list handed to fn, edited in place
	given  []*Pending    // what list held when it was handed to fn
	from   []*memPending // where given[j] was loaded from
	kept   []bool        // given[j] is still in the list fn left
	match  []int32       // per delivery of the list fn left: its index in given, or -1 when new
	pend   []Pending     // the compact deliveries, materialized: given points into it
	loaded int           // how many of pend the last load used
	spare  []Pending     // for NewPending
	handed []*Pending    // what NewPending handed out, in order
	final  []*memPending
}

// manyPending is the number of pending deliveries past which a user's are
// kept whole (see pendingExtra.full).
const manyPending = 16

// load builds the UserState of u: the compact deliveries are materialized
// into scratch, the whole ones handed out as they are, and the rest of the
// state is handed out as stored (fn edits it in place).
func (sh *shard) load(u *memUser) *UserState {
	s := &sh.scratch
	n := u.pendingCount()
	compact := 0
	for i := range n {
		if u.pendingAt(i).full() == nil {
			compact++
		}
	}
	if cap(s.pend) < compact {
		s.pend = make([]Pending, compact+4)
	}
	s.list, s.given, s.from, s.loaded = s.list[:0], s.given[:0], s.from[:0], compact
	compact = 0
	for i := range n {
		mp := u.pendingAt(i)
		p := mp.full()
		if p == nil {
			p = &s.pend[compact]
			compact++
			sh.materialize(mp, u.id(), p)
		}
		s.list = append(s.list, p)
		s.from = append(s.from, mp)
	}
	s.given = append(s.given, s.list...)
	st := &s.state
	st.Pending, st.Receipts, st.Sends, st.Conversions, st.Log = s.list, nil, nil, nil, nil
	if x := u.extra; x != nil && x.rest != nil {
		st.Receipts, st.Sends, st.Conversions, st.Log = x.rest.Receipts, x.rest.Sends, x.rest.Conversions, x.rest.Log
	}
	if sh.alloc == nil {
		sh.alloc = sh.newPending
		s.spare = make([]Pending, 0, 8)
	}
	s.state.alloc = sh.alloc
	s.spare, s.handed = s.spare[:0], s.handed[:0]
	return &s.state
}

// newPending hands out scratch space for a pending delivery the engine
// schedules: its content is copied into compact form after the update.
func (sh *shard) newPending() *Pending {
	s := &sh.scratch
	var p *Pending
	if len(s.spare) == cap(s.spare) {
		p = new(Pending) // do not move what was handed out
	} else {
		s.spare = s.spare[:len(s.spare)+1]
		p = &s.spare[len(s.spare)-1]
		*p = Pending{}
	}
	s.handed = append(s.handed, p)
	return p
}

// pair matches the deliveries fn left, list, with those it was given: it
// sets s.match and s.kept. The engine only removes deliveries (keeping
// the others' order), edits them in place and appends new ones from
// NewPending: one walk along given and handed pairs such a list. Any
// other list (reordered, or with deliveries fn made itself) is paired
// through a map. Either way the cost is linear in the user's deliveries.
func (s *scratch) pair(list []*Pending) {
	s.match = slices.Grow(s.match[:0], len(list))[:len(list)]
	s.kept = slices.Grow(s.kept[:0], len(s.given))[:len(s.given)]
	clear(s.kept)
	i, h, added := 0, 0, false
	for k, p := range list {
		if !added {
			j := i
			for j < len(s.given) && s.given[j] != p {
				j++
			}
			if j < len(s.given) {
				s.match[k], s.kept[j], i = int32(j), true, j+1
				continue
			}
			added = true // from here on, only new deliveries
		}
		for h < len(s.handed) && s.handed[h] != p {
			h++
		}
		if h == len(s.handed) {
			s.pairAny(list)
			return
		}
		s.match[k] = -1
		h++
	}
}

// pairAny is pair for any list.
func (s *scratch) pairAny(list []*Pending) {
	clear(s.kept)
	index := make(map[*Pending]int32, len(s.given))
	for j, p := range s.given {
		index[p] = int32(j)
	}
	for k, p := range list {
		if j, ok := index[p]; ok && !s.kept[j] {
			s.match[k], s.kept[j] = j, true
		} else {
			s.match[k] = -1 // new, or the same delivery twice: stored as a copy
		}
	}
}

// materialize fills p from mp, field by field: a composite literal would
// be built aside and then copied, a second pass over the Pending on every
// load.
func (sh *shard) materialize(mp *memPending, userID string, p *Pending) {
	if f := mp.full(); f != nil {
		*p = *f
		return
	}
	s := sh.sp.shapes.of(mp.shape)
	p.ID = mp.deliveryID()
	p.CampaignID = s.campaign
	p.Activation = s.activation
	p.Trigger.ID, p.Trigger.UserID = mp.triggerID(), userID
	p.Trigger.Kind, p.Trigger.CampaignID = s.trigKind, s.trigCamp
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
	p.DirectoryErrors = 0
	if x := mp.extra; x != nil {
		p.Trigger.Target, p.Trigger.Name, p.Trigger.Properties = x.target, x.name, x.properties
		if mp.flags&bigAttempt != 0 {
			p.Attempt = x.attempt
		}
		p.DirectoryErrors = x.dirErrors
	}
}

// compact fills mp from p, whole if whole is set.
//
// A delivery whose ID is longer than maxKeyID, or with a time outside the
// range of Unix nanoseconds (years 1678 to 2262), is kept whole: its times
// as they are, its place in the heap at the range's end.
func (sh *shard) compact(p *Pending, u *memUser, mp *memPending, whole bool) {
	whole = whole || len(p.ID) > maxKeyID || !inUnixNS(p.Trigger.Time) || !inUnixNS(p.DueAt) || !inUnixNS(p.ReadyAt)
	if mp.flags&live != 0 {
		if f := mp.full(); f != nil && f == p {
			mp.ready = unixNS(p.ReadyAt) // a whole delivery is edited in place
			return
		}
		if !whole && mp.full() == nil && sh.sameDelivery(p, mp) {
			setMutable(p, mp) // the common case: a delivery the update only re-timed or marked
			return
		}
	}
	if whole {
		f := new(Pending) // p is the scratch's or the caller's
		*f = *p
		*mp = memPending{user: u, ready: unixNS(f.ReadyAt), flags: live, extra: &pendingExtra{full: f}}
		return
	}
	*mp = memPending{
		user: u, trigTime: p.Trigger.Time.UnixNano(), due: p.DueAt.UnixNano(), shape: sh.shapeOf(p),
	}
	mp.setKeys(p.ID, p.Trigger.ID)
	if p.Trigger.Target != "" || p.Trigger.Name != "" || len(p.Trigger.Properties) > 0 {
		mp.extra = &pendingExtra{target: p.Trigger.Target, name: p.Trigger.Name, properties: p.Trigger.Properties}
	}
	setMutable(p, mp)
}

// shapeOf returns the number of p's shape. The shard remembers the last
// one: a shard's deliveries mostly share a few, and comparing four fields
// costs less than hashing three strings.
func (sh *shard) shapeOf(p *Pending) uint32 {
	if r := &sh.recent; r.known && sameShape(p, &r.shape) {
		return r.id
	}
	id := sh.sp.shapes.id(shape{campaign: p.CampaignID, trigKind: p.Trigger.Kind, trigCamp: p.Trigger.CampaignID, activation: p.Activation})
	sh.recent = recentShape{shape: *sh.sp.shapes.of(id), id: id, known: true} // the numbered copy: it holds none of p's strings
	return id
}

// sameShape reports whether p has shape s.
func sameShape(p *Pending, s *shape) bool {
	return p.CampaignID == s.campaign && p.Activation == s.activation && p.Trigger.Kind == s.trigKind && p.Trigger.CampaignID == s.trigCamp
}

// sameDelivery reports whether p still describes the delivery mp holds:
// everything but the fields updates change is equal.
func (sh *shard) sameDelivery(p *Pending, mp *memPending) bool {
	x := mp.extra
	if x == nil {
		x = &pendingExtra{}
	}
	return mp.sameKeys(p.ID, p.Trigger.ID) && p.Trigger.Time.UnixNano() == mp.trigTime &&
		p.DueAt.UnixNano() == mp.due && sameShape(p, sh.sp.shapes.of(mp.shape)) &&
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
	mp.flags = live | mp.flags&moved | flag(p.Sending, sending) |
		flag(p.CancelOnFailure, cancelOnFailure) | flag(p.Backfilled, backfilled) | flag(p.Control, control)
	if p.DirectoryErrors != 0 && mp.extra == nil {
		mp.extra = &pendingExtra{}
	}
	if mp.extra != nil {
		mp.extra.dirErrors = p.DirectoryErrors
	}
	if p.Attempt >= 0 && p.Attempt <= 1<<8-1 {
		mp.attempt = uint8(p.Attempt)
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
	s.pair(st.Pending)
	for j, mp := range s.from {
		if !s.kept[j] {
			mp.flags = 0 // removed: its heap entry goes stale
			sh.due.live--
		}
	}
	whole := len(st.Pending) > manyPending
	s.final = s.final[:0]
	for k, p := range st.Pending {
		var mp *memPending
		if j := s.match[k]; j >= 0 {
			mp = s.from[j]
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
		sh.compact(p, u, mp, whole)
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
	if len(st.Receipts) > 0 || len(st.Sends) > 0 || len(st.Conversions) > 0 || len(st.Log) > 0 {
		x := u.ensureExtra()
		if x.rest == nil {
			x.rest = &UserState{}
		}
		x.rest.Receipts, x.rest.Sends, x.rest.Conversions, x.rest.Log = st.Receipts, st.Sends, st.Conversions, st.Log
		sh.horizon.noteState(st)
	} else if u.extra != nil {
		u.extra.rest = nil
	}
	u.trimExtra()
	clear(s.list[:cap(s.list)])
	clear(s.given)
	clear(s.handed)
	// The scratch deliveries are overwritten by the next load or
	// NewPending; until then they keep a few identifiers per shard alive,
	// but not the trigger's properties, which may be large.
	for i := range s.loaded {
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
