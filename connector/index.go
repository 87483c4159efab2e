package connector

import (
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/wordhash"
)

// listenerIndex finds the listeners of (kind, campaign) for every tracked
// event, so it is built for look-ups: an open-addressing table at most
// half full, keyed by a hash that reads the two strings eight bytes at a
// time (a Go map keyed by the pair, or by the two joined, spent more on
// hashing than on everything else Track does before taking a lock). The
// table is built once per snapshot and only read after, from any number
// of goroutines. Its hash has a fixed seed: its keys are the campaigns'
// own selectors, so events crafted to collide can only probe runs of
// those.
type listenerIndex struct {
	slots []indexSlot // a power of two long; l nil: empty
}

type indexSlot struct {
	kind     event.Kind
	campaign string
	l        *listeners
}

// newListenerIndex indexes m, keyed by (kind, campaign).
func newListenerIndex(m map[[2]string]*listeners) listenerIndex {
	size := 8
	for size < 2*len(m) {
		size *= 2
	}
	x := listenerIndex{slots: make([]indexSlot, size)}
	for key, l := range m {
		i := pairHash(key[0], key[1]) & uint64(size-1)
		for x.slots[i].l != nil {
			i = (i + 1) & uint64(size-1)
		}
		x.slots[i] = indexSlot{kind: event.Kind(key[0]), campaign: key[1], l: l}
	}
	return x
}

// get returns the listeners of (k, campaignID), or nil.
func (x *listenerIndex) get(k event.Kind, campaignID string) *listeners {
	mask := uint64(len(x.slots) - 1)
	for i := pairHash(string(k), campaignID) & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.l == nil {
			return nil
		}
		if s.kind == k && s.campaign == campaignID {
			return s.l
		}
	}
}

// pairHash hashes a and b (their lengths keep ("ab", "c") and ("a", "bc")
// apart).
func pairHash(a, b string) uint64 {
	h := wordhash.String(wordhash.String(uint64(len(a))<<32|uint64(len(b)), a), b)
	return wordhash.Mix(h, 0xbf58476d1ce4e5b9)
}
