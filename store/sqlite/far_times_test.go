package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// A call whose now lies past the span of nanosecond times (an engine on a
// clock far in the future) fails with store.ErrTimeRange, as on the
// memory store, rather than run at a clamped now: claims at the clamped
// now would hand out the same deliveries again and again, their leases
// clamped to end at once.
func TestCallsAtATimeOutOfRangeFail(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testPath(t))
	far := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	var ran int // the update functions of the calls out of range that ran
	schedule(t, s, "ns", "ann", "d1", t0.Add(time.Hour))

	err := s.Update(ctx, "ns", "bob", far, store.Dedup{}, func(*store.UserState, bool) { ran++ })
	require.ErrorIs(t, err, store.ErrTimeRange)
	require.Zero(t, ran, "the update function did not run")
	_, err = s.User(ctx, "ns", "bob")
	require.ErrorIs(t, err, store.ErrNotFound)

	_, err = s.Claim(ctx, "ns", far, time.Minute, 10, 1)
	require.ErrorIs(t, err, store.ErrTimeRange)
	_, err = s.Claim(ctx, "ns", far.Add(time.Second), time.Minute, 10, 2)
	require.ErrorIs(t, err, store.ErrTimeRange)
	_, err = s.Take(ctx, "ns", "cap", 1, far, far.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrTimeRange)
	_, err = s.Prune(ctx, "ns", far, far)
	require.ErrorIs(t, err, store.ErrTimeRange)

	// In a batch, the op out of range fails alone.
	ops := []store.Op{
		{UserID: "cleo", Now: t0, Fn: func(u *store.UserState, _ bool) {
			u.Pending = append(u.Pending, newPending("cleo", "f", "d2", t0.Add(time.Hour)))
		}},
		{UserID: "dan", Now: far, Fn: func(*store.UserState, bool) { ran++ }},
	}
	err = s.UpdateBatch(ctx, "ns", ops)
	require.ErrorIs(t, err, store.ErrTimeRange)
	require.NoError(t, ops[0].Err)
	require.ErrorIs(t, ops[1].Err, store.ErrTimeRange)
	require.Zero(t, ran)

	// The deliveries are still there, claimed once each at a time in range.
	claims, err := s.Claim(ctx, "ns", t0.Add(2*time.Hour), time.Minute, 10, 3)
	require.NoError(t, err)
	require.Len(t, claims, 2)
	claims, err = s.Claim(ctx, "ns", t0.Add(2*time.Hour), time.Minute, 10, 4)
	require.NoError(t, err)
	require.Empty(t, claims, "leased")
}
