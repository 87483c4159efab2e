package connector

import (
	"math/bits"
	"slices"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/wordhash"
)

// listenerIndex finds the key entry — the listeners — of (kind, campaign)
// for every tracked event, so it is built for look-ups: open-addressing tables at most half
// full, keyed by a hash that reads the two strings eight bytes at a time
// (a Go map keyed by the pair, or by the two joined, spends more on hashing
// than on everything else Track does before taking a lock). The hash's
// top bits pick one of several tables, its low bits the slot: a snapshot
// derived from another for one changed campaign rebuilds only the tables
// of the keys that changed, and shares the others. An index is only read
// once built, from any number of goroutines. Its hash has a fixed seed:
// its keys are the campaigns' own selectors, so events crafted to collide
// can only probe runs of those.
type listenerIndex struct {
	tables []indexTable // a power of two long
	shift  uint8        // 64 - log2(len(tables)): h>>shift picks the table
	keys   int
}

type indexTable struct {
	slots []indexSlot // a power of two long, at most half full; e nil: empty
}

type indexSlot struct {
	kind     event.Kind
	campaign string
	e        *keyEntry
}

// indexTableKeys is the mean number of keys per table an index is built
// for; with rebuilds the whole index with more tables once the mean passes
// twice that.
const indexTableKeys = 32

// newListenerIndex indexes m, keyed by (kind, campaign).
func newListenerIndex(m map[[2]string]*keyEntry) listenerIndex {
	entries := make([]indexSlot, 0, len(m))
	for key, e := range m {
		entries = append(entries, indexSlot{kind: event.Kind(key[0]), campaign: key[1], e: e})
	}
	return newListenerIndexOf(entries)
}

// newListenerIndexOf indexes entries, whose keys are distinct.
func newListenerIndexOf(entries []indexSlot) listenerIndex {
	n := 1
	for n*indexTableKeys < len(entries) {
		n *= 2
	}
	x := listenerIndex{tables: make([]indexTable, n), shift: uint8(64 - bits.TrailingZeros(uint(n))), keys: len(entries)}
	if n == 1 {
		x.tables[0] = newIndexTable(entries)
		return x
	}
	// Group the entries by table with a counting sort: one slice for all.
	hashes := make([]uint64, len(entries))
	start := make([]int, n+1)
	for i, s := range entries {
		hashes[i] = pairHash(string(s.kind), s.campaign)
		start[x.table(hashes[i])+1]++
	}
	for j := range n {
		start[j+1] += start[j]
	}
	grouped := make([]indexSlot, len(entries))
	next := slices.Clone(start[:n])
	for i, s := range entries {
		j := x.table(hashes[i])
		grouped[next[j]] = s
		next[j]++
	}
	for j := range n {
		x.tables[j] = newIndexTable(grouped[start[j]:start[j+1]])
	}
	return x
}

// newIndexTable returns a table holding entries.
func newIndexTable(entries []indexSlot) indexTable {
	size := 8
	for size < 2*len(entries) {
		size *= 2
	}
	t := indexTable{slots: make([]indexSlot, size)}
	mask := uint64(size - 1)
	for _, s := range entries {
		i := pairHash(string(s.kind), s.campaign) & mask
		for t.slots[i].e != nil {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
	return t
}

// table returns the index of the table of the key that hashes to h (a
// shift of 64 leaves 0: one table).
func (x *listenerIndex) table(h uint64) int { return int(h >> x.shift) }

// get returns the entry of (k, campaignID), or nil.
func (x *listenerIndex) get(k event.Kind, campaignID string) *keyEntry {
	h := pairHash(string(k), campaignID)
	slots := x.tables[h>>x.shift].slots
	mask := uint64(len(slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &slots[i]
		if s.e == nil {
			return nil
		}
		if s.kind == k && s.campaign == campaignID {
			return s.e
		}
	}
}

// with returns the index with the entry of each key of changes replaced
// (nil: the key removed). x is left as it is.
func (x listenerIndex) with(changes map[[2]string]*keyEntry) listenerIndex {
	keys := x.keys
	byTable := map[int][]indexSlot{}
	for key, e := range changes {
		had := x.get(event.Kind(key[0]), key[1]) != nil
		switch {
		case had && e == nil:
			keys--
		case !had && e != nil:
			keys++
		}
		j := x.table(pairHash(key[0], key[1]))
		byTable[j] = append(byTable[j], indexSlot{kind: event.Kind(key[0]), campaign: key[1], e: e})
	}
	if keys > 2*indexTableKeys*len(x.tables) {
		m := make(map[[2]string]*keyEntry, keys)
		for _, t := range x.tables {
			for _, s := range t.slots {
				if s.e != nil {
					m[[2]string{string(s.kind), s.campaign}] = s.e
				}
			}
		}
		for key, e := range changes {
			if e == nil {
				delete(m, key)
			} else {
				m[key] = e
			}
		}
		return newListenerIndex(m)
	}
	y := listenerIndex{tables: append([]indexTable(nil), x.tables...), shift: x.shift, keys: keys}
	for j, changed := range byTable {
		var entries []indexSlot
		for _, s := range x.tables[j].slots {
			if s.e != nil && !changedKey(changed, &s) {
				entries = append(entries, s)
			}
		}
		for _, s := range changed {
			if s.e != nil {
				entries = append(entries, s)
			}
		}
		y.tables[j] = newIndexTable(entries)
	}
	return y
}

// changedKey reports whether s's key is among changed.
func changedKey(changed []indexSlot, s *indexSlot) bool {
	for i := range changed {
		if changed[i].kind == s.kind && changed[i].campaign == s.campaign {
			return true
		}
	}
	return false
}

// pairHash hashes a and b (their lengths keep ("ab", "c") and ("a", "bc")
// apart).
func pairHash(a, b string) uint64 {
	h := wordhash.String(wordhash.String(uint64(len(a))<<32|uint64(len(b)), a), b)
	return wordhash.Mix(h, 0xbf58476d1ce4e5b9)
}
