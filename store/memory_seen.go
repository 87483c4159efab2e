package store

import (
	"container/heap"
	"maps"
	"slices"
)

// seenEntry is a remembered event ID: its 64-bit hash (collisions between
// two IDs of one user inside the window are negligible: about 2^-64 per
// pair) and when to forget it.
type seenEntry struct {
	hash  uint64
	until int64 // Unix nanoseconds
}

// seenSet remembers a user's further processed event IDs. A handful are
// kept in a slice in insertion order; past seenListMax they move to a map,
// with a min-heap of their expiries beside it, so that pruning visits the
// IDs that expire and not every one the user has: a user with a million
// events in the dedup window (a bot, a shared anonymous ID) would
// otherwise cost a walk of a million entries, under its shard's lock, at
// every Prune.
//
// With the map, list holds the heap (a set holds one or the other, and
// the field serves both, so that a user's record is no larger than with
// the slice alone): a min-heap by until of the entries added to index,
// each entry of index and the earlier expiries of the IDs remembered
// again after they expired (stale: index holds a later until), dropped as
// they reach the top.
type seenSet struct {
	list  []seenEntry
	index map[uint64]int64
}

const seenListMax = 16

// expiries returns the heap of expiries, with the map: list, as a heap.
func (s *seenSet) expiries() *expiryHeap { return (*expiryHeap)(&s.list) }

func (s *seenSet) empty() bool { return len(s.list) == 0 && len(s.index) == 0 }

// size is how many IDs the set remembers, expired ones not yet pruned
// included.
func (s *seenSet) size() int {
	if s.index != nil {
		return len(s.index)
	}
	return len(s.list)
}

func (s *seenSet) has(h uint64, now int64) bool {
	if s.index != nil {
		until, ok := s.index[h]
		return ok && until > now
	}
	for _, e := range s.list {
		if e.hash == h {
			return e.until > now
		}
	}
	return false
}

func (s *seenSet) add(h uint64, until int64) {
	if s.index != nil {
		s.index[h] = until
		s.push(seenEntry{h, until})
		return
	}
	for i := range s.list {
		if s.list[i].hash == h { // an expired entry being renewed
			s.list[i].until = until
			return
		}
	}
	if len(s.list) < seenListMax {
		s.list = append(s.list, seenEntry{h, until})
		return
	}
	entries := s.list
	s.index, s.list = make(map[uint64]int64, 2*seenListMax), make([]seenEntry, 0, 2*seenListMax)
	for _, e := range entries {
		s.index[e.hash] = e.until
		s.push(e)
	}
	s.index[h] = until
	s.push(seenEntry{h, until})
}

// earliest returns a time no later than the earliest expiry of the set,
// and false when the set is empty.
func (s *seenSet) earliest() (int64, bool) {
	if s.index != nil {
		if len(s.list) == 0 {
			return 0, false
		}
		return s.list[0].until, true
	}
	if len(s.list) == 0 {
		return 0, false
	}
	m := s.list[0].until
	for _, e := range s.list[1:] {
		m = min(m, e.until)
	}
	return m, true
}

// expire drops expired entries cheaply: the slice is scanned (it is short),
// the map is left to prune.
func (s *seenSet) expire(now int64) {
	if s.index == nil && len(s.list) > 0 {
		s.prune(now)
	}
}

// prune drops every expired entry and returns how many. With the map, it
// costs a heap pop per expiry, whatever the number of IDs remembered.
func (s *seenSet) prune(now int64) int {
	n := 0
	if s.index != nil {
		for len(s.list) > 0 && s.list[0].until <= now {
			e := s.pop()
			if until, ok := s.index[e.hash]; ok && until <= now {
				delete(s.index, e.hash)
				n++
			}
		}
		switch {
		case len(s.index) == 0:
			s.index, s.list = nil, nil
		case cap(s.list) > 4*seenListMax && len(s.list) < cap(s.list)/4:
			s.shrink()
		}
		return n
	}
	kept := s.list[:0]
	for _, e := range s.list {
		if e.until > now {
			kept = append(kept, e)
		} else {
			n++
		}
	}
	s.list = kept
	if len(s.list) == 0 {
		s.list = nil
	}
	return n
}

// shrink copies the map and the heap into memory their size: neither
// gives back what it grew to, and a user whose burst of events has left
// the window would keep the burst's memory for as long as it remembers
// any ID. The heap's capacity stands for both (each ID of the map has its
// entry): they are copied when it is over four times what is left, at a
// cost linear in what is left, which the pops since the last copy pay for.
func (s *seenSet) shrink() {
	index := make(map[uint64]int64, len(s.index))
	maps.Copy(index, s.index)
	s.index, s.list = index, slices.Clone(s.list)
}

// expiryHeap is a min-heap of expiries by until ([container/heap]).
type expiryHeap []seenEntry

func (q expiryHeap) Len() int           { return len(q) }
func (q expiryHeap) Less(i, j int) bool { return q[i].until < q[j].until }
func (q expiryHeap) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *expiryHeap) Push(x any)        { *q = append(*q, x.(seenEntry)) }
func (q *expiryHeap) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// push adds e to the heap of expiries.
func (s *seenSet) push(e seenEntry) { heap.Push(s.expiries(), e) }

// pop removes and returns the earliest expiry.
func (s *seenSet) pop() seenEntry { return heap.Pop(s.expiries()).(seenEntry) }
