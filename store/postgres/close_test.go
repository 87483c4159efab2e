package postgres_test

import (
	"context"
	"testing"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// A call that asks a closed pool for a connection fails as calls after
// Close do: with store.ErrClosed, not with pgxpool's own error, so that a
// host can tell a closed store from a failing one. It is what a call
// waiting for a connection when Close closes the pool of Open meets; here
// the host closes a pool of its own under the store, which leads to the
// same error without a race to arrange.
func TestCallOnAClosedPoolReturnsErrClosed(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testDSN(t))
	require.NoError(t, err)
	s, err := postgres.New(ctx, pool, postgres.WithSchema(testSchema(t)))
	require.NoError(t, err)
	defer s.Close()
	pool.Close()

	err = s.Update(ctx, "", "ann", t0, store.Dedup{}, func(u *store.UserState, _ bool) {
		u.Pending = append(u.Pending, newPending("ann", "f", "d1", t0))
	})
	require.ErrorIs(t, err, store.ErrClosed)
	_, err = s.Claim(ctx, "", t0, 0, 10, 1)
	require.ErrorIs(t, err, store.ErrClosed)
}
