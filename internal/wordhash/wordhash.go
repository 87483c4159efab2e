// Package wordhash is the fixed-seed string hash the engine's in-memory
// indexes use where a Go map's hash would cost more than the look-up it
// serves: strings are read eight bytes at a time, each word mixed into
// the state by a 64×64 → 128-bit multiply whose halves are folded. Word,
// Tail and Mix are also the pieces of the delivery IDs' hash.
// Deterministic from run to run; not for keys an attacker picks when
// collisions would cost more than a longer probe among trusted keys.
package wordhash

import "math/bits"

// K is the multiplier String mixes words with.
const K = 0x9e3779b97f4a7c15

// Mix multiplies x by k as 128 bits and folds the halves together.
func Mix(x, k uint64) uint64 {
	hi, lo := bits.Mul64(x, k)
	return hi ^ lo
}

// String mixes s into h: each full word, then the zero-padded tail (mixed
// even when empty). The caller mixes in the length where strings of
// different lengths must not collide by padding.
func String(h uint64, s string) uint64 {
	for ; len(s) >= 8; s = s[8:] {
		h = Mix(h^Word(s), K)
	}
	return Mix(h^Tail(s), K)
}

// Word returns s's first eight bytes as a little-endian word; s must hold
// at least eight.
func Word(s string) uint64 {
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// Tail returns s, shorter than eight bytes, as a zero-padded
// little-endian word.
func Tail(s string) uint64 {
	var w uint64
	for i := len(s) - 1; i >= 0; i-- {
		w = w<<8 | uint64(s[i])
	}
	return w
}
