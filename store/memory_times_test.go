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
// since 1970 (after 2262), lists it and claims it once due.
func TestMemoryKeepsTimesPastUnixNanoseconds(t *testing.T) {
	s, ctx := NewMemory(), context.Background()
	due := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	trig := time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.Update(ctx, "", "u", now, Dedup{}, func(u *UserState, _ bool) {
		p := u.NewPending()
		*p = Pending{ID: "d", CampaignID: "c", DueAt: due, ReadyAt: due,
			Trigger: event.Event{ID: "e", UserID: "u", Kind: event.EmailReceived, CampaignID: "o", Time: trig}}
		u.Pending = append(u.Pending, p)
	}))
	st, err := s.User(ctx, "", "u")
	require.NoError(t, err)
	p := st.Pending[0]
	require.True(t, p.DueAt.Equal(due) && p.ReadyAt.Equal(due) && p.Trigger.Time.Equal(trig),
		"due %v, ready %v, trigger time %v", p.DueAt, p.ReadyAt, p.Trigger.Time)
	listed, err := s.ListPending(ctx, "", PendingQuery{Limit: 10})
	require.NoError(t, err)
	require.Len(t, listed, 1)
	require.True(t, listed[0].Pending.DueAt.Equal(due))

	early, err := s.Claim(ctx, "", now, time.Minute, 10, 1)
	require.NoError(t, err)
	require.Empty(t, early, "not due in 2026")
	claimed, err := s.Claim(ctx, "", due, time.Minute, 10, 2)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.True(t, claimed[0].Pending.DueAt.Equal(due))
	require.True(t, claimed[0].Pending.Trigger.Time.Equal(trig))
}
