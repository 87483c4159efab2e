package store

import (
	"fmt"
	"slices"
	"testing"
)

func TestRemovePendingFuncKeepsTheOthersInOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		drop func(i int) bool
	}{
		{"none", 10, func(int) bool { return false }},
		{"all", 10, func(int) bool { return true }},
		{"every third", 10, func(i int) bool { return i%3 == 0 }},
		{"the first", 5, func(i int) bool { return i == 0 }},
		{"the last", 5, func(i int) bool { return i == 4 }},
		{"a run in the middle", 10, func(i int) bool { return i >= 3 && i < 7 }},
		{"nothing to remove from", 0, func(int) bool { return true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var u UserState
			var ids, want []string
			for i := range tc.n {
				ids = append(ids, fmt.Sprint("d", i))
				u.Pending = append(u.Pending, &Pending{ID: ids[i]})
				if !tc.drop(i) {
					want = append(want, ids[i])
				}
			}
			all := u.Pending
			var seen []string
			removed := u.RemovePendingFunc(func(p *Pending) bool {
				seen = append(seen, p.ID)
				return tc.drop(len(seen) - 1)
			})
			var got []string
			for _, p := range u.Pending {
				got = append(got, p.ID)
			}
			if !slices.Equal(got, want) || removed != tc.n-len(want) {
				t.Fatalf("kept %v and removed %d, want %v and %d", got, removed, want, tc.n-len(want))
			}
			if !slices.Equal(seen, ids) {
				t.Fatalf("drop saw %v, want each delivery once, in order", seen)
			}
			for _, p := range all[len(got):] {
				if p != nil {
					t.Fatalf("the array still holds removed delivery %s", p.ID)
				}
			}
		})
	}
}
