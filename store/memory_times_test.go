package store

import (
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/stretchr/testify/require"
)

// TestMemoryKeepsTimesPastUnixNanoseconds checks that the memory store
// keeps a delivery's times exactly when they lie beyond int64 nanoseconds
// since 1970 (after 2262), orders and reports them exactly, and refuses to
// work at a clock it cannot keep rather than misorder.
func TestMemoryKeepsTimesPastUnixNanoseconds(t *testing.T) {
	s, ctx := NewMemory(), context.Background()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	trig := time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(user, id string, due time.Time) {
		t.Helper()
		require.NoError(t, s.Update(ctx, "", user, now, Dedup{}, func(u *UserState, _ bool) {
			p := u.NewPending()
			*p = Pending{ID: id, CampaignID: "c", DueAt: due, ReadyAt: due,
				Trigger: event.Event{ID: "e-" + id, UserID: user, Kind: event.EmailReceived, CampaignID: "o", Time: trig}}
			u.Pending = append(u.Pending, p)
		}))
	}
	y2300, y2400 := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)
	add("u1", "b", y2300)
	add("u2", "a", y2400)

	st, err := s.User(ctx, "", "u1")
	require.NoError(t, err)
	p := st.Pending[0]
	require.True(t, p.DueAt.Equal(y2300) && p.ReadyAt.Equal(y2300) && p.Trigger.Time.Equal(trig),
		"due %v, ready %v, trigger time %v", p.DueAt, p.ReadyAt, p.Trigger.Time)

	listed, err := s.ListPending(ctx, "", PendingQuery{Limit: 10})
	require.NoError(t, err)
	require.Len(t, listed, 2)
	require.Equal(t, []string{"b", "a"}, []string{listed[0].Pending.ID, listed[1].Pending.ID}, "in due order")
	after, err := s.ListPending(ctx, "", PendingQuery{AfterDue: y2300, AfterID: "b", Limit: 10})
	require.NoError(t, err)
	require.Len(t, after, 1)
	require.Equal(t, "a", after[0].Pending.ID, "the cursor orders far times exactly")

	next, ok, err := s.NextDue(ctx, "")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(y2300), "next due %v", next)

	early, err := s.Claim(ctx, "", now, time.Minute, 10, 1)
	require.NoError(t, err)
	require.Empty(t, early, "not due in 2026")

	// A clock the store cannot keep is refused, by every operation that
	// works at it: nothing is claimed early, twice or out of order.
	_, err = s.Claim(ctx, "", y2300, time.Minute, 10, 2)
	require.ErrorIs(t, err, ErrTimeRange)
	require.ErrorContains(t, err, "2300-01-01")
	require.ErrorIs(t, s.Update(ctx, "", "u1", y2300, Dedup{}, func(*UserState, bool) { t.Fatal("applied") }), ErrTimeRange)
	_, err = s.Take(ctx, "", "k", 1, y2300, y2400)
	require.ErrorIs(t, err, ErrTimeRange)
	_, err = s.Prune(ctx, "", y2300, now)
	require.ErrorIs(t, err, ErrTimeRange)
	_, err = s.Claim(ctx, "", trig, time.Minute, 10, 3)
	require.ErrorIs(t, err, ErrTimeRange, "before 1678 too")

	// In a batch, the op at such a time fails alone.
	applied := 0
	ops := []Op{
		{UserID: "u1", Now: now, Fn: func(*UserState, bool) { applied++ }},
		{UserID: "u2", Now: y2300, Fn: func(*UserState, bool) { applied++ }},
		{UserID: "u3", Now: now, Fn: func(*UserState, bool) { applied++ }},
	}
	require.ErrorIs(t, s.UpdateBatch(ctx, "", ops), ErrTimeRange)
	require.Equal(t, 2, applied)
	require.NoError(t, ops[0].Err)
	require.ErrorIs(t, ops[1].Err, ErrTimeRange)
	require.NoError(t, ops[2].Err)
}
