package event

import (
	"math/rand/v2"
	"testing"
)

// TestLookupKindAgreesWithMap checks the fast kind table against the map
// it is built from: every kind found with its info, and names that are not
// kinds (near misses, random strings) not found.
func TestLookupKindAgreesWithMap(t *testing.T) {
	for k, want := range kinds {
		if got, ok := lookupKind(k); !ok || got != want {
			t.Errorf("lookupKind(%q) = %+v, %v; want %+v", k, got, ok, want)
		}
	}
	probes := []Kind{"", "x", "push", "push_receive", "push_received_", "Push_received", "email_opene", "purchases"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		b := make([]byte, 1+r.IntN(30))
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz_"[r.IntN(27)]
		}
		probes = append(probes, Kind(b))
	}
	for k := range kinds { // near misses: one byte changed
		b := []byte(k)
		b[r.IntN(len(b))] ^= 1
		probes = append(probes, Kind(b))
	}
	for _, k := range probes {
		_, want := kinds[k]
		if _, got := lookupKind(k); got != want {
			t.Errorf("lookupKind(%q) found = %v, want %v", k, got, want)
		}
	}
}
