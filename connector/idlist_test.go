package connector

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIDListAgreesWithSortedSlice adds and removes random IDs, in order
// and out of it, and checks every list against a sorted slice, its chunks
// within bounds, and the list it was derived from unchanged.
func TestIDListAgreesWithSortedSlice(t *testing.T) {
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 3))
		var l idList
		var want []string
		for step := range 2000 {
			id := fmt.Sprintf("id%05d", r.IntN(1000))
			if r.IntN(3) == 0 {
				id = fmt.Sprintf("id%05d", step) // increasing: appends at the end
			}
			before, was := l, want
			if r.IntN(4) == 0 {
				l = l.without(id)
				if i, ok := slices.BinarySearch(want, id); ok {
					want = slices.Delete(slices.Clone(want), i, i+1)
				}
			} else {
				l = l.with(id)
				if i, ok := slices.BinarySearch(want, id); !ok {
					want = slices.Insert(slices.Clip(want), i, id)
				}
			}
			if got := slices.Collect(l.all()); !slices.Equal(got, want) || l.len() != len(want) {
				t.Fatalf("seed %d step %d: list %v (len %d), want %v", seed, step, got, l.len(), want)
			}
			if step%10 == 0 && !slices.Equal(slices.Collect(before.all()), was) {
				t.Fatalf("seed %d step %d: the earlier list changed", seed, step)
			}
			for _, c := range l.chunks {
				if len(c) == 0 || len(c) > idChunkMax {
					t.Fatalf("seed %d step %d: a chunk of %d IDs", seed, step, len(c))
				}
			}
		}
		if got := newIDList(want); !slices.Equal(slices.Collect(got.all()), want) {
			t.Fatalf("seed %d: newIDList lost IDs", seed)
		}
	}
}

// TestIDTableAgreesWithMap sets and deletes random IDs and checks every
// table against a map, and the table it was derived from unchanged.
func TestIDTableAgreesWithMap(t *testing.T) {
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 4))
		var tab idTable[int]
		want := map[string]int{}
		for step := range 5000 {
			id := fmt.Sprint("id", r.IntN(3000))
			before := tab
			was, wasOK := want[id]
			if r.IntN(5) == 0 {
				tab = tab.without(id)
				delete(want, id)
			} else {
				tab = tab.with(id, step)
				want[id] = step
			}
			v, ok := tab.get(id)
			if w, wok := want[id]; ok != wok || v != w || tab.len() != len(want) {
				t.Fatalf("seed %d step %d: get(%q) = %d, %v; want %d, %v (%d entries, want %d)", seed, step, id, v, ok, w, wok, tab.len(), len(want))
			}
			if v, ok := before.get(id); ok != wasOK || v != was {
				t.Fatalf("seed %d step %d: the earlier table changed", seed, step)
			}
			if step%100 == 0 {
				if got := maps.Collect(tab.all()); !maps.Equal(got, want) {
					t.Fatalf("seed %d step %d: the table holds other entries than the map", seed, step)
				}
			}
		}
		if len(tab.buckets) > 1 && tab.len() < idBucketSize*len(tab.buckets)/4 {
			t.Fatalf("seed %d: %d buckets for %d entries", seed, len(tab.buckets), tab.len())
		}
	}
}
