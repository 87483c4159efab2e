package editdist

import "testing"

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
