package store

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/stretchr/testify/require"
)

// addDue schedules for user a delivery id due at due, at a clock in 2026.
func addDue(t *testing.T, s *Memory, user, id string, due time.Time) {
	t.Helper()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.Update(context.Background(), "", user, now, Dedup{}, func(u *UserState, _ bool) {
		p := u.NewPending()
		*p = Pending{ID: id, CampaignID: "c", DueAt: due, ReadyAt: due,
			Trigger: event.Event{ID: "e-" + id, UserID: user, Kind: event.EmailReceived, CampaignID: "o", Time: now}}
		u.Pending = append(u.Pending, p)
	}))
}

// TestMemoryNextDueIsExactAtBothEnds checks that NextDue gives the exact
// ready time of a delivery ready before 1678 or after 2262.
func TestMemoryNextDueIsExactAtBothEnds(t *testing.T) {
	for _, due := range []time.Time{time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)} {
		s := NewMemory()
		addDue(t, s, "u1", "a", due)
		next, ok, err := s.NextDue(context.Background(), "")
		require.NoError(t, err)
		require.True(t, ok)
		require.True(t, next.Equal(due), "NextDue %v, want %v", next, due)
	}
}

// TestMemoryListsFarPastDeliveriesInOrder checks that a delivery due in
// 1500 is listed before one due at 1677-09-21 (the first Unix nanosecond).
func TestMemoryListsFarPastDeliveriesInOrder(t *testing.T) {
	s := NewMemory()
	edge := time.Unix(0, math.MinInt64).UTC()
	y1500 := time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)
	addDue(t, s, "u1", "a", edge)
	addDue(t, s, "u2", "b", y1500)
	got, err := s.ListPending(context.Background(), "", PendingQuery{Limit: 10})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, []string{"b", "a"}, []string{got[0].Pending.ID, got[1].Pending.ID}, "in due order")
}

// TestMemoryClaimsNothingFarAtTheLastNanosecond checks that a Claim at
// the last Unix nanosecond does not hand out a delivery due in 2300.
func TestMemoryClaimsNothingFarAtTheLastNanosecond(t *testing.T) {
	s := NewMemory()
	addDue(t, s, "u1", "a", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
	last := time.Unix(0, math.MaxInt64).UTC()
	got, err := s.Claim(context.Background(), "", last, time.Minute, 10, 1)
	require.NoError(t, err)
	require.Empty(t, got, "claimed %d deliveries due in 2300 at %v", len(got), last)
}

// TestMemoryPagesThroughFarDeliveriesInOrder checks that paging with
// limit 1 through deliveries due after 2262 visits each once, in order.
func TestMemoryPagesThroughFarDeliveriesInOrder(t *testing.T) {
	s := NewMemory()
	base := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 50 {
		addDue(t, s, fmt.Sprintf("u%d", i), fmt.Sprintf("d%02d", 49-i), base.AddDate(i%7, 0, 0))
	}
	addDue(t, s, "v", "z", time.Unix(0, math.MaxInt64))
	var q PendingQuery
	q.Limit = 1
	var seen []Claim
	for {
		got, err := s.ListPending(context.Background(), "", q)
		require.NoError(t, err)
		if len(got) == 0 {
			break
		}
		seen = append(seen, got[0])
		q.AfterDue, q.AfterID = got[0].Pending.DueAt, got[0].Pending.ID
		require.Less(t, len(seen), 100)
	}
	require.Len(t, seen, 51)
	for i := 1; i < len(seen); i++ {
		a, b := seen[i-1].Pending, seen[i].Pending
		require.True(t, a.DueAt.Before(b.DueAt) || a.DueAt.Equal(b.DueAt) && a.ID < b.ID, "%v %s then %v %s", a.DueAt, a.ID, b.DueAt, b.ID)
	}
}

// TestMemoryBatchWithAnOpOutOfRangeKeepsOrder checks that in a large
// batch with one op at 2300, every other op applies, each user's in
// order, and each op's Err is set (stale values cleared).
func TestMemoryBatchWithAnOpOutOfRangeKeepsOrder(t *testing.T) {
	s := NewMemory()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var order []int
	var ops []Op
	for i := range 200 {
		at := now
		if i == 100 {
			at = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		ops = append(ops, Op{UserID: fmt.Sprintf("u%d", i%3), Now: at, Err: fmt.Errorf("stale"),
			Fn: func(*UserState, bool) { order = append(order, i) }})
	}
	err := s.UpdateBatch(context.Background(), "", ops)
	require.ErrorIs(t, err, ErrTimeRange)
	for i := range ops {
		if i == 100 {
			require.ErrorIs(t, ops[i].Err, ErrTimeRange)
		} else {
			require.NoError(t, ops[i].Err, "op %d", i)
		}
	}
	require.Len(t, order, 199)
	for k := 1; k < len(order); k++ {
		require.Less(t, order[k-1], order[k])
	}
}
