package connector_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// statsStore counts the Stats calls of the store it wraps and hides its
// PendingCount: a store without store.PendingCounter. err, when set, is
// what both return.
type statsStore struct {
	store.Store
	stats int
	err   error
}

func (s *statsStore) Stats(ctx context.Context, ns string) (store.Stats, error) {
	s.stats++
	if s.err != nil {
		return store.Stats{}, s.err
	}
	return s.Store.Stats(ctx, ns)
}

// pendingCountStore is a statsStore with a PendingCount that counts its calls.
type pendingCountStore struct {
	statsStore
	counts int
}

func (s *pendingCountStore) PendingCount(ctx context.Context, ns string) (int64, error) {
	s.counts++
	if s.err != nil {
		return 0, s.err
	}
	return s.Store.(store.PendingCounter).PendingCount(ctx, ns)
}

// schedulePending gives n users of namespace ns a pending delivery each.
func schedulePending(t *testing.T, s store.Store, ns string, n int) {
	t.Helper()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		user := fmt.Sprint("u", i)
		require.NoError(t, s.Update(context.Background(), ns, user, t0, store.Dedup{}, func(u *store.UserState, _ bool) {
			u.Pending = append(u.Pending, &store.Pending{ID: "d-" + user, CampaignID: "f", Activation: 1, DueAt: t0, ReadyAt: t0})
		}))
	}
}

// PendingCount asks the store's PendingCounter when it has one, and reads
// Stats otherwise: the same number either way, that of the engine's
// namespace, and the store's error as it is.
func TestPendingCount(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	schedulePending(t, mem, "tenant", 3)
	schedulePending(t, mem, "", 5) // another namespace's

	t.Run("with a PendingCounter", func(t *testing.T) {
		s := &pendingCountStore{statsStore: statsStore{Store: mem}}
		e, err := connector.New(s, nopSender, connector.WithNamespace("tenant"))
		require.NoError(t, err)
		n, err := e.PendingCount(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(3), n)
		require.Equal(t, 1, s.counts)
		require.Zero(t, s.stats, "no Stats read")

		s.err = errBroken
		_, err = e.PendingCount(ctx)
		require.ErrorIs(t, err, errBroken)
	})
	t.Run("without", func(t *testing.T) {
		s := &statsStore{Store: mem}
		_, ok := any(s).(store.PendingCounter)
		require.False(t, ok)
		e, err := connector.New(s, nopSender, connector.WithNamespace("tenant"))
		require.NoError(t, err)
		n, err := e.PendingCount(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(3), n)
		require.Equal(t, 1, s.stats)

		s.err = errBroken
		_, err = e.PendingCount(ctx)
		require.ErrorIs(t, err, errBroken)
	})
	t.Run("the default namespace, and a cancelled context", func(t *testing.T) {
		e, err := connector.New(mem, nopSender)
		require.NoError(t, err)
		n, err := e.PendingCount(ctx)
		require.NoError(t, err)
		st, err := e.Stats(ctx)
		require.NoError(t, err)
		require.Equal(t, st.Pending, n)
		require.Equal(t, int64(5), n)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		_, err = e.PendingCount(cancelled)
		require.True(t, errors.Is(err, context.Canceled), "%v", err)
	})
}

// CampaignPendingCount asks the store's CampaignPendingCounter for the
// engine's namespace, up to the limit, and is ErrNotSupported on a store
// without one.
func TestCampaignPendingCount(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	schedulePending(t, mem, "tenant", 3)
	schedulePending(t, mem, "", 5) // another namespace's

	e, err := connector.New(mem, nopSender, connector.WithNamespace("tenant"))
	require.NoError(t, err)
	for limit, want := range map[int64]int64{1: 1, 2: 2, 3: 3, 10: 3} {
		n, err := e.CampaignPendingCount(ctx, "f", limit)
		require.NoError(t, err)
		require.Equal(t, want, n, "up to %d", limit)
	}
	n, err := e.CampaignPendingCount(ctx, "g", 10)
	require.NoError(t, err)
	require.Zero(t, n, "a follow-up with none")
	_, err = e.CampaignPendingCount(ctx, "f", 0)
	require.ErrorIs(t, err, store.ErrInvalidQuery)

	without, err := connector.New(&statsStore{Store: mem}, nopSender, connector.WithNamespace("tenant"))
	require.NoError(t, err)
	_, err = without.CampaignPendingCount(ctx, "f", 10)
	require.ErrorIs(t, err, connector.ErrNotSupported)
}
