package connector

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
)

// TestListenerIndexAgreesWithMap builds indexes of random (kind, campaign)
// pairs — empty, short and long campaign IDs, pairs that differ only in
// where the kind ends — and looks up every key and many that are not
// there, against a map.
func TestListenerIndexAgreesWithMap(t *testing.T) {
	kinds := event.Kinds()
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 5))
		m := map[[2]string]*keyEntry{}
		var misses [][2]string
		for i := range r.IntN(300) {
			k := string(kinds[r.IntN(len(kinds))])
			c := ""
			if r.IntN(4) > 0 {
				c = fmt.Sprintf("camp-%d-%s", i, string(make([]byte, r.IntN(20))))
			}
			m[[2]string{k, c}] = &keyEntry{}
			misses = append(misses, [2]string{k, c + "x"}, [2]string{k + c[:min(1, len(c))], c[min(1, len(c)):]},
				[2]string{string(kinds[r.IntN(len(kinds))]), c})
		}
		x := newListenerIndex(m)
		for key, l := range m {
			if got := x.get(event.Kind(key[0]), key[1]); got != l {
				t.Fatalf("seed %d: get(%q) = %p, want %p", seed, key, got, l)
			}
		}
		for _, key := range misses {
			if got, want := x.get(event.Kind(key[0]), key[1]), m[key]; got != want {
				t.Fatalf("seed %d: get(%q) = %p, want %p", seed, key, got, want)
			}
		}
		checkHalfFull(t, &x, len(m))
	}
}

// checkHalfFull fails unless x holds keys keys, none of its tables more
// than half full.
func checkHalfFull(t *testing.T, x *listenerIndex, keys int) {
	t.Helper()
	n := 0
	for j, tab := range x.tables {
		used := 0
		for _, s := range tab.slots {
			if s.e != nil {
				used++
			}
		}
		if len(tab.slots) < 2*used {
			t.Fatalf("table %d: %d slots for %d keys", j, len(tab.slots), used)
		}
		n += used
	}
	if n != keys || x.keys != keys {
		t.Fatalf("index holds %d keys and counts %d, want %d", n, x.keys, keys)
	}
}

// TestListenerIndexWithAgreesWithMap changes random keys of an index, one
// batch at a time (adding, replacing and removing listeners), and checks
// each derived index against a map, and that the index it derives from is
// left as it was.
func TestListenerIndexWithAgreesWithMap(t *testing.T) {
	kinds := event.Kinds()
	for seed := range uint64(10) {
		r := rand.New(rand.NewPCG(seed, 7))
		m := map[[2]string]*keyEntry{}
		x := newListenerIndex(m)
		for range 400 {
			before := maps.Clone(m)
			changes := map[[2]string]*keyEntry{}
			for range 1 + r.IntN(6) {
				key := [2]string{string(kinds[r.IntN(len(kinds))]), fmt.Sprintf("camp-%d", r.IntN(3000))}
				if r.IntN(5) == 0 {
					changes[key] = nil
					delete(m, key)
				} else {
					l := &keyEntry{}
					changes[key] = l
					m[key] = l
				}
			}
			y := x.with(changes)
			for key, l := range m {
				if got := y.get(event.Kind(key[0]), key[1]); got != l {
					t.Fatalf("seed %d: get(%q) = %p, want %p", seed, key, got, l)
				}
			}
			for key := range changes {
				if got, want := y.get(event.Kind(key[0]), key[1]), m[key]; got != want {
					t.Fatalf("seed %d: get(%q) = %p, want %p", seed, key, got, want)
				}
				if got, want := x.get(event.Kind(key[0]), key[1]), before[key]; got != want {
					t.Fatalf("seed %d: the older index changed: get(%q) = %p, want %p", seed, key, got, want)
				}
			}
			checkHalfFull(t, &y, len(m))
			if len(y.tables) > 1 && len(m) < indexTableKeys*len(y.tables)/4 {
				t.Fatalf("seed %d: %d tables for %d keys", seed, len(y.tables), len(m))
			}
			x = y
		}
	}
}
