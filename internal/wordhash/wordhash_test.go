package wordhash

import (
	"fmt"
	"testing"
)

// TestStringSpreads checks that strings differing in one byte, in the
// padding of their tail or in where they are cut hash apart, and that the
// hash is the same from call to call.
func TestStringSpreads(t *testing.T) {
	seen := map[uint64]string{}
	add := func(h uint64, what string) {
		if prev, ok := seen[h]; ok {
			t.Fatalf("%s and %s collide", what, prev)
		}
		seen[h] = what
	}
	for i := range 20_000 {
		s := fmt.Sprint("user-", i)
		add(String(uint64(len(s)), s), s)
	}
	add(String(1, "a\x00"), `"a\x00"`) // zero padding: told apart by the length the caller mixes in
	add(String(2, "a"), `"a" with length 2`)
	first, second := String(7, "same"), String(7, "same")
	if first != second {
		t.Fatal("the hash changes from call to call")
	}
}
