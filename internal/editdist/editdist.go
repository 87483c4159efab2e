// Package editdist measures how far apart two short names are, to suggest
// the name a typo most likely meant.
package editdist

// Distance is the optimal string alignment distance of a and b, in
// bytes: the fewest insertions, deletions, substitutions and swaps of
// neighbours that turn a into b. It takes time in len(a)·len(b): bound
// the lengths of names that come from input.
func Distance(a, b string) int { return AtMost(a, b, len(a)+len(b)) }

// AtMost is [Distance] when that is at most limit, and limit+1 otherwise;
// it stops as soon as every alignment costs more than limit. Names of up
// to 64 bytes take no allocation.
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
	prev2, prev, cur := rows[:n], rows[n:2*n], rows[2*n:3*n]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			best = min(best, cur[j])
		}
		if best > limit && (i == 1 || min(best, minOf(prev)) > limit) {
			return limit + 1 // every alignment from here costs more (a swap reaches back one row)
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit+1)
}

func minOf(row []int) int {
	m := row[0]
	for _, v := range row[1:] {
		m = min(m, v)
	}
	return m
}
