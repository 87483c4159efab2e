package store

import (
	"context"
	"sync"
	"unsafe"
)

var _ BatchUpdater = (*Memory)(nil)

// UpdateBatch implements [BatchUpdater]. The ops are grouped by shard, each
// user's ops keeping their order, and each group runs under one lock
// acquisition in two steps: first the group's users are looked up without
// being used, then the ops are applied. At a million users every look-up
// misses the caches two or three times (the table's tag, its slot, the
// user's record); one after the other, each op waits for its own misses,
// while the first step's short, independent loads let the processor have
// the whole group's misses in flight at once, and the ops then find their
// users in cache. Batches of up to 64 ops (a user or so a shard) are
// applied one by one, each under its shard's lock.
func (m *Memory) UpdateBatch(ctx context.Context, ns string, ops []Op) error {
	if err := ctx.Err(); err != nil {
		for i := range ops {
			ops[i].Err = err
		}
		return err
	}
	if len(ops) == 0 {
		return nil
	}
	for i := range ops {
		if err := checkNow(ops[i].Now); err != nil {
			return m.updateEach(ctx, ns, ops)
		}
	}
	sp := m.space(ns)
	if len(ops) <= smallBatch {
		// Few users a shard at most: grouping would cost more than the
		// misses it overlaps.
		for i := range ops {
			op := &ops[i]
			m.applyOne(sp, op)
		}
		return nil
	}
	b := batches.Get().(*batch)
	b.group(ops)
	for s := range shardCount {
		if idx := b.order[b.start[s]:b.start[s+1]]; len(idx) > 0 {
			m.applyGroup(sp, &sp.shards[s], ops, idx, b.hashes)
		}
	}
	for i := range ops {
		ops[i].Err = nil
	}
	b.release()
	return nil
}

// updateEach is UpdateBatch applying each op through Update: for a batch
// in which some op fails (its time is out of range), so that it fails
// alone.
func (m *Memory) updateEach(ctx context.Context, ns string, ops []Op) error {
	var first error
	for i := range ops {
		op := &ops[i]
		op.Err = m.Update(ctx, ns, op.UserID, op.Now, op.Dedup, op.Fn)
		if first == nil {
			first = op.Err
		}
	}
	return first
}

// smallBatch is the size up to which UpdateBatch applies ops one by one.
const smallBatch = 64

// applyOne applies op under its shard's lock and clears its Err.
func (m *Memory) applyOne(sp *space, op *Op) {
	sh := &sp.shards[shardOf(op.UserID)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	m.apply(sp, sh, op.UserID, hashID(op.UserID), op.Now.UnixNano(), &op.Dedup, op.Fn)
	op.Err = nil
}

// applyGroup applies ops[i] for each i of idx, all of them users of sh.
func (m *Memory) applyGroup(sp *space, sh *shard, ops []Op, idx []int32, hashes []uint32) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(idx) > 1 {
		sh.sink += sh.users.touch(idx, hashes)
	}
	for _, i := range idx {
		op := &ops[i]
		m.apply(sp, sh, op.UserID, hashes[i], op.Now.UnixNano(), &op.Dedup, op.Fn)
	}
}

// touch reads, for each i of idx, the table entry where the user whose ID
// hashes to hashes[i] is most likely to be, then that user's record, and
// returns a sum of what it read (kept by the caller, so that the loads are
// not optimized away). Only the first slot of each probe sequence is read:
// it is the user's in most look-ups, and a wrong guess costs a load.
func (t *userTable) touch(idx []int32, hashes []uint32) uint {
	if t.n == 0 {
		return 0
	}
	mask := len(t.slots) - 1
	var sum uint
	for _, i := range idx {
		// The slot's line even when the tag says empty: a new user is
		// stored there, and a store waits for its line too.
		j := int(hashes[i]) & mask
		sum += uint(t.tags[j]) + uint(uintptr(unsafe.Pointer(t.slots[j])))
	}
	for _, i := range idx {
		if u := t.slots[int(hashes[i])&mask]; u != nil {
			// The record's two cache lines (it is 128 bytes, and objects of
			// that size class are 128-byte aligned), and the first byte of
			// the user's ID.
			sum += uint(u.hash) + uint(u.first.ready)
			if u.idLen > 0 {
				sum += uint(*u.idData)
			}
		}
	}
	return sum
}

// batch is UpdateBatch's scratch: the ops' hashes and their order grouped
// by shard.
type batch struct {
	hashes []uint32 // hashID of each op's user
	shards []uint8  // each op's shard
	start  [shardCount + 1]int32
	order  []int32 // op indexes, grouped by shard, in slice order within a shard
}

var batches = sync.Pool{New: func() any { return new(batch) }}

// group fills b for ops: a counting sort by shard, stable.
func (b *batch) group(ops []Op) {
	n := len(ops)
	if cap(b.hashes) < n {
		b.hashes, b.shards, b.order = make([]uint32, n), make([]uint8, n), make([]int32, n)
	}
	b.hashes, b.shards, b.order = b.hashes[:n], b.shards[:n], b.order[:n]
	var count [shardCount]int32
	for i := range ops {
		s := shardOf(ops[i].UserID)
		b.hashes[i], b.shards[i] = hashID(ops[i].UserID), uint8(s)
		count[s]++
	}
	b.start[0] = 0
	for s := range shardCount {
		b.start[s+1] = b.start[s] + count[s]
	}
	next := b.start
	for i, s := range b.shards {
		b.order[next[s]] = int32(i)
		next[s]++
	}
}

// release returns b to the pool, unless it grew large.
func (b *batch) release() {
	if cap(b.order) > 1<<16 {
		return
	}
	batches.Put(b)
}
