package connector

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestGroupCallContextGivesEachCallMostOfALease asks the group for the
// context of a shared call at times on both sides of each eighth of a
// lease: every call gets a live context with seven eighths of a lease to
// a lease left, a call an eighth of a lease or more after the context was
// made gets a new one (never one that ran out), a context that runs out
// says it got no answer, and none outlives the Tick's calls.
func TestGroupCallContextGivesEachCallMostOfALease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lease = 8 * time.Second
		e := &Engine{}
		e.cfg.lease = lease
		calls, endCalls := context.WithCancel(context.Background())
		var g group
		g.reset(e, calls, 1)
		var made []context.Context
		at := func(label string) context.Context {
			t.Helper()
			ctx := g.callContext()
			if err := ctx.Err(); err != nil {
				t.Fatalf("%s: a call starts with a context that ended: %v", label, err)
			}
			d, ok := ctx.Deadline()
			left := time.Until(d)
			if !ok || left < lease*7/8 || left > lease {
				t.Fatalf("%s: a call gets %v to answer, want %v to %v", label, left, lease*7/8, lease)
			}
			if len(made) == 0 || made[len(made)-1] != ctx {
				made = append(made, ctx)
			}
			return ctx
		}
		first := at("start")
		time.Sleep(lease/8 - time.Nanosecond)
		if at("just before an eighth") != first {
			t.Fatal("a call within an eighth of a lease gets a context of its own")
		}
		time.Sleep(time.Nanosecond)
		second := at("at an eighth")
		if second == first {
			t.Fatal("a call an eighth of a lease on shares the context before")
		}
		// To the first context's end, a call every nanosecond around it.
		time.Sleep(lease - lease/8 - time.Nanosecond)
		at("just before the first context's deadline")
		time.Sleep(time.Nanosecond)
		synctest.Wait() // the context's timer has fired
		if !errors.Is(context.Cause(first), errNoAnswer) {
			t.Fatalf("the first context ended with %v, want errNoAnswer", context.Cause(first))
		}
		at("at the first context's deadline")
		time.Sleep(lease / 2)
		at("later")
		g.reset(nil, nil, 0)
		endCalls()
		for i, ctx := range made {
			if ctx.Err() == nil {
				t.Fatalf("context %d of %d outlives the Tick's calls", i+1, len(made))
			}
		}
	})
}
