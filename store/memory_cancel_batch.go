package store

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
)

var _ BatchCanceller = (*Memory)(nil)

// maxCancelPrealloc bounds the room CancelCampaignBatch makes for its
// answer before it knows how much it removes: enough for the engine's
// batches of 1,000 in one allocation, not a limit's worth for a caller
// that passes a huge limit.
const maxCancelPrealloc = 1024

// CancelCampaignBatch implements [BatchCanceller]. The walk goes through
// the shards in order and, within a shard, through the campaign's
// deliveries in the order of (user ID, delivery ID); the cursor is the
// shard and the last delivery visited, so that the walk goes on from
// there whatever users come, go or move in the shard's table between
// calls. A call holds one shard's lock at a time: it collects the
// smallest deliveries after the cursor, up to what is left of limit,
// removes those of an activation up to [CancelThrough] of the record read
// at the call's start, and goes on to the next shard while limit is not
// reached. Each call walks every user of the shards it visits: a
// cancellation of n deliveries in batches of limit costs about
// n/limit/64 walks of the namespace's users, at most one walk per call.
//
// The cursor carries a hash, under the store's seed, of the namespace,
// the campaign and the place: a cursor this store did not return for
// this walk is an error wrapping [ErrInvalidQuery].
func (m *Memory) CancelCampaignBatch(ctx context.Context, ns, campaignID, cursor string, limit int) ([]Claim, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if limit < 1 {
		return nil, "", fmt.Errorf("%w: cancellation batch of %d deliveries: the limit is 1 at least", ErrInvalidQuery, limit)
	}
	sp := m.space(ns) // before the cursor's check: it readies the seed
	from, err := m.parseCancelCursor(ns, campaignID, cursor)
	if err != nil {
		return nil, "", err
	}
	through := sp.cancelThrough(campaignID)
	ofShape := sp.shapesOf(campaignID)
	out := make([]Claim, 0, min(limit, maxCancelPrealloc))
	left := limit
	picks := &cancelPicks{}
	for i := from.shard; i < shardCount; i++ {
		after, hasAfter := from.key, from.set && i == from.shard
		sh := &sp.shards[i]
		sh.mu.Lock()
		picks.reset(left)
		sh.users.each(func(u *memUser) {
			for k := range u.pendingCount() {
				mp := u.pendingAt(k)
				if !mp.of(ofShape, campaignID) {
					continue
				}
				key := cancelKey{user: u.id(), id: mp.id()}
				if hasAfter && key.compare(after) <= 0 {
					continue
				}
				picks.offer(cancelPick{key: key, u: u})
			}
		})
		slices.SortFunc(picks.items, func(a, b cancelPick) int { return a.key.compare(b.key) })
		out = sh.cancelPicked(out, picks.items, campaignID, through)
		left -= len(picks.items)
		var last cancelKey
		if len(picks.items) > 0 {
			last = picks.items[len(picks.items)-1].key
		}
		sh.mu.Unlock()
		if left == 0 {
			return out, m.cancelCursor(ns, campaignID, i, last), nil
		}
	}
	return out, "", nil
}

// cancelPicked removes, among picks (sorted, all of the shard's users),
// the deliveries of campaign campaignID of an activation up to through,
// appends them to out and returns it. Under the shard's lock.
func (sh *shard) cancelPicked(out []Claim, picks []cancelPick, campaignID string, through int64) []Claim {
	for len(picks) > 0 {
		u := picks[0].u
		n := 1
		for n < len(picks) && picks[n].u == u {
			n++
		}
		ids := picks[:n]
		picks = picks[n:]
		out = sh.cancelOf(out, u, campaignID, through, func(id string) bool { return picked(ids, id) })
	}
	return out
}

// picked reports whether ids, one user's picks sorted by delivery ID,
// hold a pick of delivery id: a binary search, so that a user with many
// deliveries of the campaign costs a call one pass over them, not one per
// pick.
func picked(ids []cancelPick, id string) bool {
	_, found := slices.BinarySearchFunc(ids, id, func(c cancelPick, id string) int { return strings.Compare(c.key.id, id) })
	return found
}

// id returns the delivery's ID.
func (mp *memPending) id() string {
	if f := mp.full(); f != nil {
		return f.ID
	}
	return mp.deliveryID()
}

// cancelKey is a delivery's place in CancelCampaignBatch's walk of a
// shard.
type cancelKey struct{ user, id string }

func (k cancelKey) compare(o cancelKey) int {
	if c := strings.Compare(k.user, o.user); c != 0 {
		return c
	}
	return strings.Compare(k.id, o.id)
}

type cancelPick struct {
	key cancelKey
	u   *memUser
}

// cancelPicks keeps the limit smallest picks it is offered: a max-heap on
// the key, whose top is the first to go. It grows with what it keeps, not
// with limit, and boxes nothing (container/heap would allocate per push).
type cancelPicks struct {
	limit int
	items []cancelPick
}

func (p *cancelPicks) reset(limit int) {
	clear(p.items)
	p.limit, p.items = limit, p.items[:0]
}

func (p *cancelPicks) offer(c cancelPick) {
	if len(p.items) < p.limit {
		p.items = append(p.items, c)
		p.up(len(p.items) - 1)
		return
	}
	if c.key.compare(p.items[0].key) < 0 {
		p.items[0] = c
		p.down(0)
	}
}

// above reports whether item i belongs above item j: its key is greater.
func (p *cancelPicks) above(i, j int) bool { return p.items[i].key.compare(p.items[j].key) > 0 }

func (p *cancelPicks) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !p.above(i, parent) {
			return
		}
		p.items[i], p.items[parent] = p.items[parent], p.items[i]
		i = parent
	}
}

func (p *cancelPicks) down(i int) {
	for n := len(p.items); ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && p.above(l, m) {
			m = l
		}
		if r < n && p.above(r, m) {
			m = r
		}
		if m == i {
			return
		}
		p.items[i], p.items[m] = p.items[m], p.items[i]
		i = m
	}
}

// cancelFrom is where a CancelCampaignBatch call starts: shard shard,
// after key when set.
type cancelFrom struct {
	shard int
	key   cancelKey
	set   bool
}

// cancelCursor returns the cursor of a walk that visited key last, in
// shard: "shard:hash:len(user):user id", the hash (hexadecimal) over the
// rest and the namespace and campaign.
func (m *Memory) cancelCursor(ns, campaignID string, shard int, key cancelKey) string {
	return fmt.Sprintf("%d:%x:%d:%s%s", shard, m.cursorHash(ns, campaignID, shard, key), len(key.user), key.user, key.id)
}

func (m *Memory) cursorHash(ns, campaignID string, shard int, key cancelKey) uint64 {
	var h maphash.Hash
	h.SetSeed(m.seed)
	for _, s := range [...]string{ns, campaignID, strconv.Itoa(shard), key.user, key.id} {
		h.WriteString(strconv.Itoa(len(s)))
		h.WriteByte(':')
		h.WriteString(s)
	}
	return h.Sum64()
}

// parseCancelCursor returns where a walk with cursor starts: the first
// shard for "", else the place cancelCursor wrote.
func (m *Memory) parseCancelCursor(ns, campaignID, cursor string) (cancelFrom, error) {
	if cursor == "" {
		return cancelFrom{}, nil
	}
	bad := fmt.Errorf("%w: cancellation cursor %q: not one this store returned for campaign %q", ErrInvalidQuery, cursor, campaignID)
	shardText, rest, ok1 := strings.Cut(cursor, ":")
	hashText, rest, ok2 := strings.Cut(rest, ":")
	lenText, rest, ok3 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || !ok3 {
		return cancelFrom{}, bad
	}
	shard, err1 := strconv.Atoi(shardText)
	sum, err2 := strconv.ParseUint(hashText, 16, 64)
	n, err3 := strconv.Atoi(lenText)
	if err1 != nil || err2 != nil || err3 != nil || shard < 0 || shard >= shardCount || n < 0 || n > len(rest) {
		return cancelFrom{}, bad
	}
	key := cancelKey{user: rest[:n], id: rest[n:]}
	if m.cursorHash(ns, campaignID, shard, key) != sum || m.cancelCursor(ns, campaignID, shard, key) != cursor { // the second: one spelling only
		return cancelFrom{}, bad
	}
	return cancelFrom{shard: shard, key: key, set: true}, nil
}
