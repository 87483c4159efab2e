package connector

import (
	"strconv"
	"testing"
)

// TestUnrecordedKeepsTheLatestOutcomes checks that the outcomes kept are
// bounded, the oldest dropped first, and that keeping one of a delivery
// already kept replaces it rather than drop another.
func TestUnrecordedKeepsTheLatestOutcomes(t *testing.T) {
	var u unrecorded
	keep := func(user string, attempt int) {
		j := &job{}
		j.c.UserID, j.d.ID, j.d.Attempt = user, "d", attempt
		u.keep(j)
	}
	for i := range unrecordedMax {
		keep("u"+strconv.Itoa(i), 1)
	}
	keep("u0", 2) // the oldest, kept again: now the latest
	keep("new", 1)
	if len(u.m) != unrecordedMax || int(u.n.Load()) != unrecordedMax {
		t.Fatalf("%d outcomes kept (counted %d), want %d", len(u.m), u.n.Load(), unrecordedMax)
	}
	if o := u.m[unrecordedKey{"u0", "d"}]; o == nil || o.d.Attempt != 2 {
		t.Fatalf("the outcome kept again is %+v, want attempt 2", o)
	}
	if _, ok := u.m[unrecordedKey{"u1", "d"}]; ok {
		t.Fatal("the oldest outcome was not dropped")
	}
	if _, ok := u.m[unrecordedKey{"new", "d"}]; !ok {
		t.Fatal("the latest outcome was not kept")
	}
	j := &job{}
	j.sendErr = errNotSent
	j.c.UserID, j.d.ID = "unsent", "d"
	u.keep(j)
	if _, ok := u.m[unrecordedKey{"unsent", "d"}]; ok {
		t.Fatal("a delivery that was never sent was kept")
	}
}
