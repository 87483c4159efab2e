package store

import (
	"math"
	"sync"
	"time"
	"unsafe"
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
	horizon horizon
	recent  recentShape
	sink    uint    // what UpdateBatch's look-ahead read (unused)
	_       [8]byte // keep hot shard locks on separate cache lines
}

// recentShape is the shape a shard numbered last.
type recentShape struct {
	shape shape
	id    uint32
	known bool
}

// horizon bounds what a Prune of the shard can find: nothing expires
// before expiry (remembered event IDs, receipts, sends, conversion
// windows) and no decision log entry is older than logAt. Updates lower
// the bounds as they write; a Prune that walks the shard sets them to what
// it leaves; a Prune whose cut-offs fall short of them skips the shard's
// users (a walk reads every user's record: a cache miss each, once a
// minute, for usually nothing).
type horizon struct {
	expiry, logAt int64
}

// note lowers the expiry bound to t (Unix ns).
func (h *horizon) note(t int64) { h.expiry = min(h.expiry, t) }

// noteLog lowers the log bound to t (Unix ns).
func (h *horizon) noteLog(t int64) { h.logAt = min(h.logAt, t) }

// nothingDue reports whether a Prune with these cut-offs would find nothing.
func (h *horizon) nothingDue(nowNS, logBeforeNS int64) bool {
	return nowNS < h.expiry && logBeforeNS <= h.logAt
}

// noteState lowers the bounds to the expiries of st's receipts, sends,
// conversion windows and log entries.
func (h *horizon) noteState(st *UserState) {
	for _, r := range st.Receipts {
		if !r.Expires.IsZero() {
			h.note(unixNS(r.Expires))
		}
	}
	for _, s := range st.Sends {
		h.note(unixNS(s.Expires))
	}
	for _, c := range st.Conversions {
		h.note(unixNS(c.Deadline))
	}
	if len(st.Log) > 0 {
		h.noteLog(unixNS(st.Log[0].At)) // oldest first
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
	if until, ok := x.seen.earliest(); ok {
		h.note(until)
	}
	if x.rest != nil {
		h.noteState(x.rest)
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

// inUnixNS reports whether t has a Unix nanosecond count.
func inUnixNS(t time.Time) bool { return !t.Before(minUnixNS) && !t.After(maxUnixNS) }

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

// userExtra holds what fewer users have.
type userExtra struct {
	rest *UserState    // Receipts, Sends, Conversions, Log (Pending unused); nil when none
	more []*memPending // pending deliveries after the first
	seen seenSet       // remembered event IDs after the first
}

// memPending is a Pending in compact form: its ID and its trigger's event
// ID as setKeys keeps them, follow-up, activation and trigger kind
// and campaign numbered together (a shape), times in Unix nanoseconds,
// rarely set trigger fields behind one pointer.
type memPending struct {
	user     *memUser
	keys     string   // the delivery's ID, then its trigger's event ID when keyForm is keyInKeys
	trig     [16]byte // the trigger's event ID otherwise
	trigTime int64
	due      int64
	ready    int64
	token    uint64
	extra    *pendingExtra
	shape    uint32 // numbered by the namespace's shapes
	attempt  uint8
	flags    uint8
	idLen    uint8 // the delivery ID's length in keys
	keyForm  uint8 // where the event ID is, and in what form: see setKeys
}

type pendingExtra struct {
	target, name string
	properties   map[string]any
	attempt      int
	dirErrors    int // Pending.DirectoryErrors: rare, so kept here
	// full, when set, holds the whole delivery, and the compact fields
	// but ready (kept equal to full.ReadyAt for the heap) are unused: the
	// deliveries of a user who holds many are kept this way, so that an
	// update hands them to its function as they are instead of converting
	// every one of them both ways.
	full *Pending
}

// full returns the whole delivery mp holds, or nil when it is compact.
func (mp *memPending) full() *Pending {
	if mp.extra != nil {
		return mp.extra.full
	}
	return nil
}

// lease sets the delivery's claim token and ready time.
func (mp *memPending) lease(token uint64, until int64) {
	mp.token, mp.ready = token, until
	if f := mp.full(); f != nil {
		f.Token, f.ReadyAt = token, unixTime(until)
	}
}

// leased reports whether the delivery is leased with token until until.
func (mp *memPending) leased(token uint64, until int64) bool {
	if f := mp.full(); f != nil {
		return f.Token == token && mp.ready == until
	}
	return mp.token == token && mp.ready == until
}

// of reports whether the delivery is of campaign campaignID; ofShape[i]
// tells whether shape i is.
func (mp *memPending) of(ofShape []bool, campaignID string) bool {
	if f := mp.full(); f != nil {
		return f.CampaignID == campaignID
	}
	return int(mp.shape) < len(ofShape) && ofShape[mp.shape]
}

const (
	live uint8 = 1 << iota
	sending
	cancelOnFailure
	backfilled
	control
	bigAttempt // attempt in extra
	moved      // new or re-timed during a store: the heap must follow
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
	if u.extra != nil {
		n += u.extra.seen.size()
	}
	return n
}

// hasState reports whether u holds receipts, sends, conversion windows or
// decisions (what a UserState has besides pending deliveries).
func (u *memUser) hasState() bool {
	return u.extra != nil && u.extra.rest != nil
}

func (u *memUser) empty() bool {
	return u.first.flags&live == 0 && u.seen.until == 0 && u.extra == nil
}

func (u *memUser) ensureExtra() *userExtra {
	if u.extra == nil {
		u.extra = &userExtra{}
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
	if x.rest == nil && len(x.more) == 0 && x.seen.empty() {
		u.extra = nil
	}
}

// pruneState drops receipts, sends, conversion windows and log entries
// expired at now, and returns how many.
func (u *memUser) pruneState(now, logBefore time.Time) int {
	x := u.extra
	if x == nil || x.rest == nil {
		return 0
	}
	n := x.rest.Prune(now, logBefore)
	u.trimExtra()
	return n
}

// state returns a copy of what a UserState holds besides pending
// deliveries.
func (sh *shard) state(u *memUser) UserState {
	if x := u.extra; x != nil && x.rest != nil {
		return x.rest.Clone()
	}
	return UserState{}
}

// isDuplicate reports whether event ID hash h is remembered at now.
func (u *memUser) isDuplicate(h uint64, now int64) bool {
	if u.seen.until > now && u.seen.hash == h {
		return true
	}
	return u.extra != nil && u.extra.seen.has(h, now)
}

// remember adds event ID hash h, which is not a duplicate at now, after
// expireSeen at now. The inline slot takes it only while the set is not a
// map: a list then is empty (expireSeen moved its first entry up), but a
// map keeps its expired IDs until Prune, and h may be one of them, which
// the map renews in place rather than holding it twice.
func (u *memUser) remember(h uint64, until int64) {
	if u.seen.until == 0 && (u.extra == nil || u.extra.seen.index == nil) {
		u.seen = seenEntry{h, until}
		return
	}
	u.ensureExtra().seen.add(h, until)
}

// expireSeen forgets expired event IDs; all also sweeps a map-held set.
func (u *memUser) expireSeen(now int64, all bool) int {
	n := 0
	if u.seen.until != 0 && u.seen.until <= now {
		u.seen = seenEntry{}
		n++
	}
	if u.extra != nil {
		set := &u.extra.seen
		if all {
			n += set.prune(now)
		} else {
			set.expire(now)
		}
		if u.seen.until == 0 && set.index == nil && len(set.list) > 0 { // with the map, list is its heap
			u.seen, set.list = set.list[0], set.list[1:]
		}
	}
	return n
}
