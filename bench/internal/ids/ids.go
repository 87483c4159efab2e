// Package ids makes the identifiers of the benchmarks' workloads: user
// IDs of realistic length and spread, and event IDs shaped as providers'.
package ids

import "math/rand/v2"

// Users returns n distinct user IDs shaped like hosts' own, the same for the
// same prefix and n: about half "usr_" followed by 20 base-62 characters
// (24 bytes), the others UUIDs (36 bytes), in random order. The prefix
// only seeds the generator: sets with different prefixes do not overlap.
func Users(prefix string, n int) []string {
	seed := uint64(14695981039346656037) // FNV-1a of the prefix
	for i := range len(prefix) {
		seed = (seed ^ uint64(prefix[i])) * 1099511628211
	}
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	out := make([]string, n)
	seen := make(map[string]struct{}, n)
	for i := range out {
		for {
			var id string
			if r.IntN(2) == 0 {
				id = Prefixed("usr_", r.Uint64(), r.Uint64())
			} else {
				id = UUID(r.Uint64(), r.Uint64())
			}
			if _, dup := seen[id]; !dup {
				seen[id] = struct{}{}
				out[i] = id
				break
			}
		}
	}
	return out
}

// Prefixed returns prefix and 20 base-62 digits of a and b.
func Prefixed(prefix string, a, b uint64) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	buf := make([]byte, len(prefix)+20)
	copy(buf, prefix)
	for i := len(prefix); i < len(buf); i++ {
		if i < len(prefix)+10 {
			buf[i] = digits[a%62]
			a /= 62
		} else {
			buf[i] = digits[b%62]
			b /= 62
		}
	}
	return string(buf)
}

// UUID formats a and b as a version-4 UUID.
func UUID(a, b uint64) string {
	const hex = "0123456789abcdef"
	a = a&^(0xf<<12) | 4<<12   // version 4
	b = b&^(0x3<<62) | 0x2<<62 // variant 10
	var buf [36]byte
	j := 0
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			buf[j] = '-'
			j++
		}
		w, shift := a, 60-4*i
		if i >= 16 {
			w, shift = b, 60-4*(i-16)
		}
		buf[j] = hex[w>>shift&0xf]
		j++
	}
	return string(buf[:])
}
