package store

import (
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/campaignconnector/campaignconnector/event"
)

// dueHeap is a 4-ary min-heap of a shard's pending deliveries ordered by
// ready time, with lazy deletion. An entry is valid while its delivery is
// live and still ready at the entry's time: cancelling, delivering or
// moving a delivery leaves its old entry behind (re-timing or moving one
// pushes a new entry), and stale entries are dropped when they reach the
// top, or all at once when they outnumber the live deliveries. Deliveries
// do not know their place in the heap, so sifting touches only the heap's
// entries: no cache miss per level into the deliveries' records.
//
// Entries live in chunks of 256 (4 KiB): a growing heap adds a chunk and
// never copies its entries. (A slice copies them all each time it grows,
// and copying pointers while the collector marks pays a write barrier per
// entry, on the path of the event that makes the heap grow.) The first
// chunk starts small and doubles up to the full size, so that a shard with
// a handful of deliveries holds a handful of entries.
type dueHeap struct {
	chunks [][]dueItem // chunks[i>>chunkShift] holds entry i; chunks past n's are spare
	n      int         // entries
	live   int         // live deliveries in the shard; each has a valid entry
}

const (
	chunkShift = 8
	chunkSize  = 1 << chunkShift
	chunkMask  = chunkSize - 1
)

// heapSlack is how many stale entries a heap may hold beyond its live
// deliveries before it is compacted (a variable for the tests).
var heapSlack = 1024

type dueItem struct {
	at int64 // ready time in Unix nanoseconds, cached for cheap comparisons
	p  *memPending
}

func (it dueItem) valid() bool { return it.p.flags&live != 0 && it.p.ready == it.at }

// at returns entry i.
func (h *dueHeap) at(i int) *dueItem { return &h.chunks[i>>chunkShift][i&chunkMask] }

// push adds an entry for p at its ready time.
func (h *dueHeap) push(p *memPending) {
	switch c := h.n >> chunkShift; {
	case c == len(h.chunks):
		size := chunkSize
		if c == 0 {
			size = 4
		}
		h.chunks = append(h.chunks, make([]dueItem, size))
	case c == 0 && h.n == len(h.chunks[0]): // the first chunk, full below the full size
		grown := make([]dueItem, min(2*h.n, chunkSize))
		copy(grown, h.chunks[0])
		h.chunks[0] = grown
	}
	*h.at(h.n) = dueItem{at: p.ready, p: p}
	h.n++
	h.up(h.n - 1)
}

// top returns the earliest valid entry, first dropping the stale ones
// above it.
func (h *dueHeap) top() (dueItem, bool) {
	for h.n > 0 {
		if it := *h.at(0); it.valid() {
			return it, true
		}
		h.pop()
	}
	return dueItem{}, false
}

func (h *dueHeap) pop() {
	h.n--
	last := h.at(h.n)
	*h.at(0), *last = *last, dueItem{}
	if h.n > 0 {
		h.down(0)
	}
	h.release()
}

// release frees the chunks past the one after the last entry's: one spare
// chunk absorbs a heap going up and down across a chunk's end.
func (h *dueHeap) release() {
	if keep := h.n>>chunkShift + 2; len(h.chunks) > keep {
		clear(h.chunks[keep:])
		h.chunks = h.chunks[:keep]
	}
}

// replaceTop replaces the top entry, which is p's, with one at p's new
// ready time.
func (h *dueHeap) replaceTop(p *memPending) {
	*h.at(0) = dueItem{at: p.ready, p: p}
	h.down(0)
}

// tidy compacts the heap when stale entries outnumber the live ones, so
// that it stays within twice the live deliveries (plus some slack, so
// that small heaps are not rebuilt often).
func (h *dueHeap) tidy() {
	if h.n <= 2*h.live+heapSlack {
		return
	}
	// Keep one valid entry per delivery; moved marks the kept ones (no
	// store is in progress, so the bit is free).
	kept := 0
	for i := range h.n {
		it := *h.at(i)
		if it.valid() && it.p.flags&moved == 0 {
			it.p.flags |= moved
			*h.at(kept) = it
			kept++
		}
	}
	for i := range kept {
		h.at(i).p.flags &^= moved
	}
	for i := kept; i < h.n; i++ {
		*h.at(i) = dueItem{}
	}
	h.n = kept
	h.release()
	if kept > 1 {
		for i := (kept - 2) / 4; i >= 0; i-- { // from the last parent up
			h.down(i)
		}
	}
}

// countOf counts the live deliveries of follow-up campaignID (ofShape as
// in [memPending.of]) the heap holds, up to limit. Each live delivery has
// a valid entry, and may have more than one (re-timed back to an earlier
// ready time, or moved between a user's slots): moved marks the counted
// ones, as in tidy, so that each counts once.
func (h *dueHeap) countOf(ofShape []bool, campaignID string, limit int64) int64 {
	var n int64
	end := h.n
	for i := range h.n {
		it := *h.at(i)
		if !it.valid() || it.p.flags&moved != 0 || !it.p.of(ofShape, campaignID) {
			continue
		}
		it.p.flags |= moved
		if n++; n >= limit {
			end = i + 1
			break
		}
	}
	for i := range end {
		if it := *h.at(i); it.valid() {
			it.p.flags &^= moved
		}
	}
	return n
}

func (h *dueHeap) up(i int) {
	it := *h.at(i)
	for i > 0 {
		parent := (i - 1) / 4
		pp := h.at(parent)
		if pp.at <= it.at {
			break
		}
		*h.at(i) = *pp
		i = parent
	}
	*h.at(i) = it
}

func (h *dueHeap) down(i int) {
	n := h.n
	it := *h.at(i)
	for {
		first := 4*i + 1
		if first >= n {
			break
		}
		c, ca := first, h.at(first).at
		for k := first + 1; k < first+4 && k < n; k++ {
			if a := h.at(k).at; a < ca {
				c, ca = k, a
			}
		}
		if it.at <= ca {
			break
		}
		*h.at(i) = *h.at(c)
		i = c
	}
	*h.at(i) = it
}

// shape is what the deliveries of one follow-up scheduled by one kind of
// trigger have in common: the follow-up, its activation, and the trigger's
// kind and campaign. A shard's deliveries repeat a handful of shapes.
type shape struct {
	campaign   string
	trigKind   event.Kind
	trigCamp   string
	activation int64
}

// shapes numbers the shapes of a namespace's deliveries, so that each
// delivery stores 4 bytes instead of three string headers and a count.
// Look-ups take no lock: the tables are replaced, never changed. The
// numbering only grows (a follow-up's activations are few).
type shapes struct {
	mu   sync.Mutex
	ids  atomic.Pointer[map[shape]uint32]
	list atomic.Pointer[[]shape]
}

func (in *shapes) init() {
	ids, list := map[shape]uint32{}, []shape{}
	in.ids.Store(&ids)
	in.list.Store(&list)
}

// id returns the number of s, numbering it if it is new.
func (in *shapes) id(s shape) uint32 {
	if id, ok := (*in.ids.Load())[s]; ok {
		return id
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	old := *in.ids.Load()
	if id, ok := old[s]; ok {
		return id
	}
	// Keep no buffer s's strings may be slices of.
	s.campaign, s.trigKind, s.trigCamp = strings.Clone(s.campaign), event.Kind(strings.Clone(string(s.trigKind))), strings.Clone(s.trigCamp)
	ids := make(map[shape]uint32, len(old)+1)
	maps.Copy(ids, old)
	list := append(slices.Clip(*in.list.Load()), s)
	id := uint32(len(list) - 1)
	ids[s] = id
	in.list.Store(&list)
	in.ids.Store(&ids)
	return id
}

// of returns shape number id.
func (in *shapes) of(id uint32) *shape { return &(*in.list.Load())[id] }

// each calls fn with the number of every shape so far.
func (in *shapes) each(fn func(id uint32, s *shape)) {
	list := *in.list.Load()
	for i := range list {
		fn(uint32(i), &list[i])
	}
}

// userTable is an open-addressing hash table of a shard's users, keyed by
// their ID: a pointer and a one-byte tag a slot instead of a map entry's key
// and value. The tag (7 bits of the hash, with the high bit set) is checked
// before the user's ID, so a look-up rarely touches a user that is not the
// one sought. A removed user leaves a tombstone, which look-ups probe past
// and inserts reuse, so that removing needs no hashing; tombstones count
// toward the load, and a rebuild clears them.
type userTable struct {
	slots []*memUser
	tags  []uint8 // empty, tombstone, or 0x80 | 7 bits of the hash
	n     int     // users
	dead  int     // tombstones
}

const (
	empty     uint8 = 0
	tombstone uint8 = 1
)

var tableSeed = maphash.MakeSeed()

// hashID hashes a user ID for the user tables: 32 bits, which a memUser
// keeps (a shard's table never needs more).
func hashID(id string) uint32 { return uint32(maphash.String(tableSeed, id)) }

func tagOf(h uint32) uint8 { return uint8(h>>25) | 0x80 }

// get returns the user with ID id, whose hashID is h, or nil.
func (t *userTable) get(id string, h uint32) *memUser {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	tag := tagOf(h)
	for i := int(h) & mask; ; i = (i + 1) & mask {
		switch t.tags[i] {
		case empty:
			return nil
		case tag:
			if u := t.slots[i]; u.id() == id {
				return u
			}
		}
	}
}

// put adds u, whose ID's hashID is h; u must not be in the table.
func (t *userTable) put(u *memUser, h uint32) {
	if (t.n+t.dead+1)*8 > len(t.slots)*5 { // users and tombstones at most 5/8
		t.rebuild()
	}
	t.insert(u, h)
}

// insert puts u in the first slot of its probe sequence that holds no user:
// u is not in the table, so a tombstone before its end is as good as an
// empty slot.
func (t *userTable) insert(u *memUser, h uint32) {
	mask := len(t.slots) - 1
	i := int(h) & mask
	for t.tags[i] > tombstone {
		i = (i + 1) & mask
	}
	if t.tags[i] == tombstone {
		t.dead--
	}
	t.slots[i], t.tags[i] = u, tagOf(h)
	t.n++
}

// remove deletes the user with ID id. Its slot becomes empty when the next
// one is (no probe sequence runs through it), else a tombstone.
func (t *userTable) remove(id string, h uint32) {
	if t.n == 0 {
		return
	}
	mask := len(t.slots) - 1
	tag := tagOf(h)
	i := int(h) & mask
	for {
		switch t.tags[i] {
		case empty:
			return
		case tag:
			if t.slots[i].id() == id {
				t.slots[i] = nil
				if t.tags[(i+1)&mask] == empty {
					t.tags[i] = empty
				} else {
					t.tags[i] = tombstone
					t.dead++
				}
				t.n--
				return
			}
		}
		i = (i + 1) & mask
	}
}

// rebuild rehashes the users into a table twice as large, or as large if
// they fill at most half of the load it allows (tombstones made it full).
func (t *userTable) rebuild() {
	old := t.slots
	size := max(16, len(old))
	if (t.n+1)*16 > size*5 {
		size *= 2
	}
	t.slots, t.tags, t.n, t.dead = make([]*memUser, size), make([]uint8, size), 0, 0
	for _, u := range old {
		if u != nil {
			t.insert(u, u.hash)
		}
	}
}

// each calls fn for every user; fn must not add or remove users.
func (t *userTable) each(fn func(u *memUser)) {
	for _, u := range t.slots {
		if u != nil {
			fn(u)
		}
	}
}
