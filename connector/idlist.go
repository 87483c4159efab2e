package connector

import (
	"iter"
	"slices"
	"sort"
)

// idList is a sorted set of IDs that never changes once built: with and
// without return a new list that shares every chunk but the one the ID
// falls in. It holds the campaigns listening on an index key and the
// follow-ups of an original, lists that one original with thousands of
// follow-ups makes long: adding a follow-up copies a chunk and the list of
// chunks, not every ID.
type idList struct {
	chunks [][]string // each sorted, not empty and at most idChunkMax long; in order
	n      int
}

// idChunkMax bounds a chunk; a chunk that outgrows it is split in two.
const idChunkMax = 64

// newIDList returns the list of sorted, distinct ids, which it keeps: the
// caller must not change them after.
func newIDList(ids []string) idList {
	l := idList{n: len(ids)}
	for len(ids) > 0 {
		k := min(len(ids), idChunkMax/2)
		l.chunks = append(l.chunks, ids[:k:k])
		ids = ids[k:]
	}
	return l
}

// len returns the number of IDs.
func (l *idList) len() int { return l.n }

// all yields the IDs in order.
func (l *idList) all() iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, c := range l.chunks {
			for _, id := range c {
				if !yield(id) {
					return
				}
			}
		}
	}
}

// chunk returns the index of the chunk id belongs in: the first whose last
// ID is not before id, or the last chunk.
func (l *idList) chunk(id string) int {
	i := sort.Search(len(l.chunks), func(i int) bool { c := l.chunks[i]; return c[len(c)-1] >= id })
	return min(i, len(l.chunks)-1)
}

// with returns the list with id added.
func (l idList) with(id string) idList {
	if len(l.chunks) == 0 {
		return idList{chunks: [][]string{{id}}, n: 1}
	}
	i := l.chunk(id)
	c := l.chunks[i]
	j, found := slices.BinarySearch(c, id)
	if found {
		return l
	}
	grown := slices.Insert(slices.Clip(c), j, id) // a copy: c is shared
	chunks := make([][]string, 0, len(l.chunks)+1)
	chunks = append(chunks, l.chunks[:i]...)
	if len(grown) > idChunkMax {
		chunks = append(chunks, grown[:len(grown)/2:len(grown)/2], grown[len(grown)/2:])
	} else {
		chunks = append(chunks, grown)
	}
	return idList{chunks: append(chunks, l.chunks[i+1:]...), n: l.n + 1}
}

// without returns the list without id.
func (l idList) without(id string) idList {
	if len(l.chunks) == 0 {
		return l
	}
	i := l.chunk(id)
	c := l.chunks[i]
	j, found := slices.BinarySearch(c, id)
	if !found {
		return l
	}
	chunks := make([][]string, 0, len(l.chunks))
	chunks = append(chunks, l.chunks[:i]...)
	if len(c) > 1 {
		chunks = append(chunks, slices.Delete(slices.Clone(c), j, j+1))
	}
	return idList{chunks: append(chunks, l.chunks[i+1:]...), n: l.n - 1}
}
