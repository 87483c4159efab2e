package connector

import (
	"fmt"
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
		m := map[[2]string]*listeners{}
		var misses [][2]string
		for i := range r.IntN(300) {
			k := string(kinds[r.IntN(len(kinds))])
			c := ""
			if r.IntN(4) > 0 {
				c = fmt.Sprintf("camp-%d-%s", i, string(make([]byte, r.IntN(20))))
			}
			m[[2]string{k, c}] = &listeners{}
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
		if len(x.slots) < 2*len(m) {
			t.Fatalf("seed %d: %d slots for %d keys", seed, len(x.slots), len(m))
		}
	}
}
