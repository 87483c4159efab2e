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
