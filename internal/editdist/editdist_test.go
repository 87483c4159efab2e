package editdist

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"time", "time", 0}, {"", "abc", 3}, {"abc", "", 3},
		{"tmie", "time", 1}, {"tim", "time", 1}, {"timee", "time", 1}, {"tame", "time", 1},
		{"email_recieved", "email_received", 1}, {"push_button_clickd", "push_button_clicked", 1},
		{"kitten", "sitting", 3}, {"ca", "abc", 3},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

// TestAtMostAgreesWithDistance: the bounded distance is the distance when
// within the limit, limit+1 otherwise.
func TestAtMostAgreesWithDistance(t *testing.T) {
	words := []string{"", "a", "ab", "ba", "abc", "time", "tmie", "tim", "email_received", "email_recieved", "push_button_clicked", "xyzzy", "kitten", "sitting"}
	for _, a := range words {
		for _, b := range words {
			d := Distance(a, b)
			for limit := range 4 {
				want := min(d, limit+1)
				if got := AtMost(a, b, limit); got != want {
					t.Errorf("AtMost(%q, %q, %d) = %d, want %d (distance %d)", a, b, limit, got, want, d)
				}
			}
		}
	}
}

// osa is the optimal string alignment distance over the whole table.
func osa(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// AtMost, which works on a band around the diagonal, agrees with the
// whole table for every limit, on names short and long (past the 64 bytes
// that take no allocation) over a small alphabet, where near names abound.
func TestAtMostAgreesWithTheWholeTable(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		n := rnd.IntN(12)
		if rnd.IntN(8) == 0 {
			n = 60 + rnd.IntN(20)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = "abc"[rnd.IntN(3)]
		}
		return string(b)
	}
	for range 20000 {
		a, b := word(), word()
		if rnd.IntN(2) == 0 { // a few edits of a
			bb := []byte(a)
			for range rnd.IntN(4) {
				if len(bb) > 1 {
					k := rnd.IntN(len(bb) - 1)
					bb[k], bb[k+1] = bb[k+1], bb[k]
				}
				if len(bb) > 0 && rnd.IntN(2) == 0 {
					bb = append(bb[:rnd.IntN(len(bb))], bb[rnd.IntN(len(bb)):]...)
				}
			}
			b = string(bb)
		}
		full := osa(a, b)
		for limit := range 6 {
			if got, want := AtMost(a, b, limit), min(full, limit+1); got != want {
				t.Fatalf("AtMost(%q, %q, %d) = %d, want %d", a, b, limit, got, want)
			}
		}
		if got := Distance(a, b); got != full {
			t.Fatalf("Distance(%q, %q) = %d, want %d", a, b, got, full)
		}
	}
}

// BenchmarkAtMostLongNames: two 256-byte names (the longest campaign IDs)
// that share all but their ends, as a misspelt reference is checked
// against each known ID.
func BenchmarkAtMostLongNames(b *testing.B) {
	x := strings.Repeat("x", 250) + "000001"
	y := strings.Repeat("x", 250) + "000002"
	for b.Loop() {
		AtMost(x, y, 2)
	}
}
