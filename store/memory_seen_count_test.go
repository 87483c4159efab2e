package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestSeenCountCountsARenewedIDOnce: an event ID that expired and is seen
// again before a Prune forgets it is remembered once, whatever holds the
// user's other IDs (the inline slot, the short list or the map): renewing
// it does not raise SeenCount.
func TestSeenCountCountsARenewedIDOnce(t *testing.T) {
	ctx := context.Background()
	for _, ids := range []int{2, 3, seenListMax, seenListMax + 1, seenListMax + 2, 100} {
		t.Run(fmt.Sprint(ids, " IDs"), func(t *testing.T) {
			m := NewMemory()
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			track := func(id string, now time.Time, keep time.Duration) bool {
				t.Helper()
				var dup bool
				err := m.Update(ctx, "", "ann", now, Dedup{EventID: id, KeepUntil: now.Add(keep)}, func(_ *UserState, d bool) { dup = d })
				if err != nil {
					t.Fatal(err)
				}
				return dup
			}
			track("e0", start, 30*time.Minute) // the first ID, forgotten first
			for i := 1; i < ids; i++ {
				track(fmt.Sprint("e", i), start, time.Hour)
			}
			if n, err := m.Prune(ctx, "", start.Add(45*time.Minute), start); err != nil || n != 1 {
				t.Fatalf("Prune = %d, %v; want e0 forgotten", n, err)
			}
			if got := m.SeenCount(""); got != int64(ids-1) {
				t.Fatalf("SeenCount = %d after e0 is forgotten, want %d", got, ids-1)
			}

			later := start.Add(2 * time.Hour) // every ID expired, none pruned since
			before := m.SeenCount("")
			last := fmt.Sprint("e", ids-1)
			if track(last, later, time.Hour) {
				t.Fatalf("%s expired but was a duplicate", last)
			}
			if got := m.SeenCount(""); got > before {
				t.Fatalf("SeenCount = %d after %s, remembered already, was seen again; was %d", got, last, before)
			}
			if _, err := m.Prune(ctx, "", later, start); err != nil {
				t.Fatal(err)
			}
			if got := m.SeenCount(""); got != 1 {
				t.Fatalf("SeenCount = %d after Prune, want 1 (%s)", got, last)
			}
			if !track(last, later, time.Hour) {
				t.Fatalf("%s renewed but not a duplicate", last)
			}
		})
	}
}
