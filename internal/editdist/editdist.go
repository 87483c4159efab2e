// Package editdist measures how far apart two short names are, to suggest
// the name a typo most likely meant.
package editdist

import (
	"iter"
	"strings"
)

// Distance is the optimal string alignment distance of a and b, in
// bytes: the fewest insertions, deletions, substitutions and swaps of
// neighbours that turn a into b. It takes time in len(a)·len(b): bound
// the lengths of names that come from input.
func Distance(a, b string) int { return AtMost(a, b, len(a)+len(b)) }

// AtMost is [Distance] when that is at most limit, and limit+1 otherwise;
// it stops as soon as every alignment costs more than limit. It works on
// the alignments that stay within limit of the diagonal alone, so it takes
// time in len(a)·limit, not len(a)·len(b). Names of up to 64 bytes take no
// allocation.
func AtMost(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	var buf [3 * 65]int
	rows := buf[:]
	if n := len(b) + 1; 3*n > len(buf) {
		rows = make([]int, 3*n)
	}
	n := len(b) + 1
	big := limit + 1 // any cost past limit: the cells off the band cost more
	prev2, prev, cur := rows[:n], rows[n:2*n], rows[2*n:3*n]
	for j := range prev {
		prev[j] = min(j, big)
	}
	prevBest := 0
	for i := 1; i <= len(a); i++ {
		// The band of row i: the cells within limit of the diagonal. The
		// cells just past each end are set to big, for the rows after it
		// to read.
		lo, hi := max(1, i-limit), min(len(b), i+limit)
		cur[0] = min(i, big)
		if lo > 1 {
			cur[lo-1] = big
		}
		if hi < len(b) {
			cur[hi+1] = big
		}
		best := cur[0]
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost, big)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			best = min(best, cur[j])
		}
		if best > limit && (i == 1 || prevBest > limit) {
			return big // every alignment from here costs more (a swap reaches back one row)
		}
		prevBest = best
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], big)
}

// Nearest returns the name of names that s most likely misspells: the
// one that differs from s in case alone, or else the one nearest to it by
// at most two letters added, dropped, changed or swapped, and by no more
// than one for every three letters of s, so that a short name does not
// suggest any other short one. Two names as near suggest neither; s
// itself, among names, is passed over.
func Nearest(s string, names iter.Seq[string]) string {
	limit := min(2, len(s)/3)
	// A name that differs in case alone counts as nearer than any edit:
	// distance -1.
	best, bestD, tie := "", limit+1, false
	for n := range names {
		if n == s {
			continue
		}
		d := -1
		if !strings.EqualFold(n, s) {
			d = AtMost(s, n, limit)
		}
		switch {
		case d < bestD:
			best, bestD, tie = n, d, false
		case d == bestD && d <= limit:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}
