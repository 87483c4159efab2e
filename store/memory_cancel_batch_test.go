package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// addPending gives user n deliveries of campaign, activation act, with
// IDs prefix-0 to prefix-(n-1), in one update. Above 16 the user keeps
// them whole (pendingExtra.full), below in compact form.
func addPending(tb testing.TB, m *Memory, user, campaign, prefix string, act int64, n int) {
	tb.Helper()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	err := m.Update(context.Background(), "", user, t0, Dedup{}, func(u *UserState, _ bool) {
		for i := range n {
			p := u.NewPending()
			*p = Pending{ID: fmt.Sprintf("%s-%d", prefix, i), CampaignID: campaign, Activation: act,
				Trigger: event.Event{ID: "e-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "orig", Time: t0},
				DueAt:   t0.Add(time.Hour), ReadyAt: t0.Add(time.Hour)}
			u.Pending = append(u.Pending, p)
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// drainBatches calls CancelCampaignBatch from cursor until it returns "",
// with limit, calling between after each call but the last, and returns
// the "user/delivery" of each delivery removed, failing on one removed
// twice or a call that returned more than limit.
func drainBatches(t *testing.T, m *Memory, campaign string, limit int, between func(call int)) (map[string]bool, int) {
	t.Helper()
	got := map[string]bool{}
	cursor, calls := "", 0
	for {
		removed, next, err := m.CancelCampaignBatch(context.Background(), "", campaign, cursor, limit)
		if err != nil {
			t.Fatalf("call %d: %v", calls, err)
		}
		calls++
		if len(removed) > limit {
			t.Fatalf("call %d removed %d, limit %d", calls, len(removed), limit)
		}
		for _, c := range removed {
			k := c.UserID + "/" + c.Pending.ID
			if got[k] {
				t.Fatalf("%s removed twice", k)
			}
			if c.Pending.CampaignID != campaign || c.Pending.Trigger.UserID != c.UserID {
				t.Fatalf("removed %+v", c)
			}
			got[k] = true
		}
		if next == "" {
			return got, calls
		}
		if calls > 1_000_000 {
			t.Fatal("the walk does not end")
		}
		if between != nil {
			between(calls)
		}
		cursor = next
	}
}

// Batches remove each of the campaign's deliveries once, users with one
// delivery and with many (kept whole), and leave the other campaigns'.
func TestCancelCampaignBatchRemovesEachOnce(t *testing.T) {
	m := NewMemory()
	want := map[string]bool{}
	for i := range 500 {
		user := fmt.Sprintf("u%04d", i)
		n := 1 + i%3
		if i%97 == 0 {
			n = 40 // kept whole
		}
		addPending(t, m, user, "f", "d", 1, n)
		addPending(t, m, user, "other", "o", 1, 1)
		for k := range n {
			want[fmt.Sprintf("%s/d-%d", user, k)] = true
		}
	}
	got, calls := drainBatches(t, m, "f", 7, nil)
	if len(got) != len(want) {
		t.Fatalf("removed %d, want %d", len(got), len(want))
	}
	for k := range want {
		if !got[k] {
			t.Fatalf("%s not removed", k)
		}
	}
	if min := (len(want) + 6) / 7; calls < min || calls > min+1 {
		t.Fatalf("%d calls for %d deliveries in batches of 7", calls, len(want))
	}
	if n, _ := m.CampaignPendingCount(context.Background(), "", "f", 1); n != 0 {
		t.Fatalf("%d of the campaign left", n)
	}
	if n, _ := m.CampaignPendingCount(context.Background(), "", "other", math.MaxInt64); n != 500 {
		t.Fatalf("%d of the other campaign left, want 500", n)
	}
	st, _ := m.Stats(context.Background(), "")
	if st.Users != 500 {
		t.Fatalf("%d users, want 500", st.Users)
	}
}

// A delivery of an activation after the one the record's CancelThrough
// gives is left, counts toward the limit, and the walk goes past it.
func TestCancelCampaignBatchLeavesLaterActivations(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	_, err := m.UpdateCampaign(ctx, "", "f", func(rec *CampaignRecord, _ bool) error {
		rec.Campaign.ID, rec.State, rec.Activation = "f", rule.Active, 2 // resumed: through 1
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		user := fmt.Sprintf("u%d", i)
		addPending(t, m, user, "f", "old", 1, 1)
		addPending(t, m, user, "f", "new", 2, 2)
	}
	cursor, calls, removed := "", 0, 0
	for {
		got, next, err := m.CancelCampaignBatch(ctx, "", "f", cursor, 1)
		if err != nil {
			t.Fatal(err)
		}
		calls++
		for _, c := range got {
			if c.Pending.Activation != 1 {
				t.Fatalf("removed %+v", c.Pending)
			}
		}
		removed += len(got)
		if next == "" {
			break
		}
		if calls > 100 {
			t.Fatal("the walk does not go past the deliveries it leaves")
		}
		cursor = next
	}
	if removed != 10 {
		t.Fatalf("removed %d, want 10", removed)
	}
	if calls != 30 && calls != 31 { // one per delivery visited, perhaps one more that finds none
		t.Fatalf("%d calls of limit 1 over 30 deliveries", calls)
	}
	if n, _ := m.CampaignPendingCount(ctx, "", "f", math.MaxInt64); n != 20 {
		t.Fatalf("%d left, want the 20 of activation 2", n)
	}
}

// Users added between calls, enough for the shards' tables to grow, do
// not make the walk skip or repeat a delivery it had not reached.
func TestCancelCampaignBatchWalksOnThroughGrowth(t *testing.T) {
	m := NewMemory()
	want := map[string]bool{}
	for i := range 300 {
		user := fmt.Sprintf("u%04d", i)
		addPending(t, m, user, "f", "d", 1, 2)
		want[user+"/d-0"], want[user+"/d-1"] = true, true
	}
	added := 0
	got, _ := drainBatches(t, m, "f", 25, func(call int) {
		for range 400 { // 400 users a call: every table grows several times
			user := fmt.Sprintf("v%06d", added)
			added++
			addPending(t, m, user, "other", "x", 1, 1)
			if added%4 == 0 {
				addPending(t, m, user, "f", "late", 1, 1)
			}
		}
	})
	for k := range want {
		if !got[k] {
			t.Fatalf("%s not removed", k)
		}
	}
	for k := range got {
		if !want[k] && !strings.Contains(k, "/late-") {
			t.Fatalf("removed %s", k)
		}
	}
	if added < 4000 {
		t.Fatalf("added only %d users", added)
	}
}

// One call with a limit above the backlog removes all of it and ends the
// walk; a campaign with nothing pending ends it at once.
func TestCancelCampaignBatchAllAtOnce(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	for i := range 50 {
		addPending(t, m, fmt.Sprint("u", i), "f", "d", 1, 1)
	}
	got, next, err := m.CancelCampaignBatch(ctx, "", "f", "", math.MaxInt)
	if err != nil || len(got) != 50 || next != "" {
		t.Fatalf("removed %d, next %q, %v", len(got), next, err)
	}
	got, next, err = m.CancelCampaignBatch(ctx, "", "none", "", 10)
	if err != nil || len(got) != 0 || next != "" {
		t.Fatalf("removed %d, next %q, %v", len(got), next, err)
	}
}

// A limit below 1, or a cursor the store did not return for this walk, is
// an error wrapping ErrInvalidQuery, and removes nothing.
func TestCancelCampaignBatchRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	for i := range 20 {
		addPending(t, m, fmt.Sprint("u", i), "f", "d", 1, 1)
		addPending(t, m, fmt.Sprint("u", i), "g", "d", 1, 1)
	}
	_, cursor, err := m.CancelCampaignBatch(ctx, "", "f", "", 3)
	if err != nil || cursor == "" {
		t.Fatalf("next %q, %v", cursor, err)
	}
	shard, _, _ := strings.Cut(cursor, ":")
	bad := []struct {
		campaign, cursor string
		limit            int
	}{
		{"f", "", 0},
		{"f", cursor, -1},
		{"f", "garbage", 5},
		{"f", "1:2:3", 5},
		{"f", cursor + "x", 5},               // another place, the same hash
		{"f", "0" + cursor, 5},               // another spelling
		{"g", cursor, 5},                     // another campaign's walk
		{"f", "64" + cursor[len(shard):], 5}, // no such shard
	}
	for _, b := range bad {
		got, next, err := m.CancelCampaignBatch(ctx, "", b.campaign, b.cursor, b.limit)
		if !errors.Is(err, ErrInvalidQuery) || got != nil || next != "" {
			t.Errorf("%q, %q, %d: %d removed, next %q, %v", b.campaign, b.cursor, b.limit, len(got), next, err)
		}
	}
	if _, _, err := NewMemory().CancelCampaignBatch(ctx, "", "f", cursor, 5); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("another store's cursor: %v", err)
	}
	if _, _, err := m.CancelCampaignBatch(ctx, "other_ns", "f", cursor, 5); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("another namespace's cursor: %v", err)
	}
	if n, _ := m.CampaignPendingCount(ctx, "", "f", math.MaxInt64); n != 17 {
		t.Fatalf("%d of f left, want 17", n)
	}
	if n, _ := m.CampaignPendingCount(ctx, "", "g", math.MaxInt64); n != 20 {
		t.Fatalf("%d of g left, want 20", n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := m.CancelCampaignBatch(cctx, "", "f", cursor, 5); !errors.Is(err, context.Canceled) {
		t.Fatalf("ended ctx: %v", err)
	}
}
