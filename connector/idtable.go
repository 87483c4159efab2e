package connector

import (
	"iter"
	"maps"

	"github.com/campaignconnector/campaignconnector/internal/wordhash"
)

// idTable maps IDs to values and never changes once built: with and
// without return a new table that shares every bucket but the one the ID
// falls in. A snapshot derived from another for one changed campaign so
// copies a bucket (a few dozen entries) and the list of buckets, not every
// campaign, and readers of the older snapshot see it unchanged.
type idTable[V any] struct {
	buckets []map[string]V // a power of two long; nil: the empty table
	n       int
}

// idBucketSize is the mean bucket size a table is built for; with
// rebuilds the table with more buckets once the mean passes twice that,
// so the rebuilds cost O(1) per change over time.
const idBucketSize = 32

// newIDTable returns a table holding m's entries (m is not kept).
func newIDTable[V any](m map[string]V) idTable[V] { return newIDTableOf(len(m), maps.All(m)) }

// newIDTableOf returns a table holding the n distinct entries of all.
func newIDTableOf[V any](n int, all iter.Seq2[string, V]) idTable[V] {
	nb := 1
	for nb*idBucketSize < n {
		nb *= 2
	}
	t := idTable[V]{buckets: make([]map[string]V, nb), n: n}
	for i := range t.buckets {
		t.buckets[i] = make(map[string]V, n/nb+1)
	}
	for id, v := range all {
		t.buckets[t.bucket(id)][id] = v
	}
	return t
}

// bucket returns the index of id's bucket; a table of one bucket (every
// table of up to 32 entries) hashes nothing.
func (t *idTable[V]) bucket(id string) int {
	if len(t.buckets) <= 1 {
		return 0
	}
	h := wordhash.Mix(wordhash.String(uint64(len(id)), id), 0x94d049bb133111eb)
	return int(h & uint64(len(t.buckets)-1))
}

// get returns id's value, and whether the table holds id.
func (t *idTable[V]) get(id string) (V, bool) {
	if t.buckets == nil {
		var zero V
		return zero, false
	}
	v, ok := t.buckets[t.bucket(id)][id]
	return v, ok
}

// len returns the number of entries.
func (t *idTable[V]) len() int { return t.n }

// all yields every entry, in no particular order.
func (t *idTable[V]) all() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		for _, b := range t.buckets {
			for id, v := range b {
				if !yield(id, v) {
					return
				}
			}
		}
	}
}

// with returns the table with id mapped to v.
func (t idTable[V]) with(id string, v V) idTable[V] {
	if t.buckets == nil {
		return newIDTable(map[string]V{id: v})
	}
	i := t.bucket(id)
	if _, ok := t.buckets[i][id]; !ok && t.n+1 > 2*idBucketSize*len(t.buckets) {
		m := t.collect()
		m[id] = v
		return newIDTable(m)
	}
	b := maps.Clone(t.buckets[i])
	if _, ok := b[id]; !ok {
		t.n++
	}
	b[id] = v
	t.buckets = append([]map[string]V(nil), t.buckets...)
	t.buckets[i] = b
	return t
}

// without returns the table without id.
func (t idTable[V]) without(id string) idTable[V] {
	if _, ok := t.get(id); !ok {
		return t
	}
	i := t.bucket(id)
	b := maps.Clone(t.buckets[i])
	delete(b, id)
	t.buckets = append([]map[string]V(nil), t.buckets...)
	t.buckets[i] = b
	t.n--
	return t
}

// collect returns the entries as one map.
func (t *idTable[V]) collect() map[string]V {
	m := make(map[string]V, t.n+1)
	for id, v := range t.all() {
		m[id] = v
	}
	return m
}
