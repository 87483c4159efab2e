package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// TestConnectionsTheServerClosedFailNoCall checks that when the server
// ends the sessions of a store's pooled connections (as a restart or a
// failover does), the store's next calls succeed at once on new
// connections instead of failing once per dead connection, and that the
// check behind it keeps live connections.
func TestConnectionsTheServerClosedFailNoCall(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T, dsn, schema string) (*postgres.Store, *pgxpool.Pool)
	}{
		{"a pool Open makes", func(t *testing.T, dsn, schema string) (*postgres.Store, *pgxpool.Pool) {
			s, err := postgres.Open(context.Background(), dsn, postgres.WithSchema(schema))
			require.NoError(t, err)
			t.Cleanup(s.Close)
			return s, s.Pool()
		}},
		{"a pool of the host's with ShouldPing", func(t *testing.T, dsn, schema string) (*postgres.Store, *pgxpool.Pool) {
			cfg, err := pgxpool.ParseConfig(dsn)
			require.NoError(t, err)
			cfg.ShouldPing = postgres.ShouldPing
			pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
			require.NoError(t, err)
			t.Cleanup(pool.Close)
			s, err := postgres.New(context.Background(), pool, postgres.WithSchema(schema))
			require.NoError(t, err)
			t.Cleanup(s.Close)
			return s, pool
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			schema := testSchema(t)
			// The store's connections go by a name of their own.
			s, pool := tc.open(t, withAppName(testDSN(t), schema), schema)
			const ns = "ns"
			schedule(t, s, ns, "u", "d", t0)

			const conns = 4
			warm(t, pool, conns)
			before := pool.Stat().NewConnsCount()
			for range 3 * conns { // live connections are kept
				_, _, err := s.NextDue(ctx, ns)
				require.NoError(t, err)
			}
			require.Equal(t, before, pool.Stat().NewConnsCount(), "live connections replaced")

			terminate(t, schema)
			_, ok, err := s.NextDue(ctx, ns)
			require.NoError(t, err, "the first call after the server ended the sessions")
			require.True(t, ok)
			for i := range conns { // each Claim finds the delivery the last one leased for a minute
				claims, err := s.Claim(ctx, ns, t0.Add(time.Duration(i)*time.Minute), time.Minute, 10, uint64(i+1))
				require.NoError(t, err)
				require.Len(t, claims, 1)
			}
			schedule(t, s, ns, "v", "e", t0)
			require.Greater(t, pool.Stat().NewConnsCount(), before, "new connections replace the dead ones")
		})
	}
}

// withAppName returns dsn with application_name set to name.
func withAppName(dsn, name string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "application_name=" + name
	}
	return dsn + " application_name=" + name
}

// warm makes pool hold n idle connections.
func warm(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	ctx := context.Background()
	conns := make([]*pgxpool.Conn, n)
	for i := range conns {
		c, err := pool.Acquire(ctx)
		require.NoError(t, err)
		conns[i] = c
	}
	for _, c := range conns {
		c.Release()
	}
	require.GreaterOrEqual(t, pool.Stat().IdleConns(), int32(n))
}

// terminate ends the sessions of every connection named name (the
// store's listener included) and waits until the server has closed them.
// It waits for those sessions by process ID, not for the name to vanish:
// the listener reconnects under the same name a moment later.
func terminate(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hung server fails the test
	defer cancel()
	admin := newPool(t)
	rows, err := admin.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, name)
	require.NoError(t, err)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(t, err)
	require.NotEmpty(t, pids)
	_, err = admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid`, pids)
	require.NoError(t, err)
	for {
		var left int
		require.NoError(t, admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)`, pids).Scan(&left))
		if left == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of the %d sessions named %s still open", left, len(pids), name)
		case <-time.After(time.Millisecond):
		}
	}
}

// BenchmarkShouldPing measures the check of a live connection against
// the ping it saves.
func BenchmarkShouldPing(b *testing.B) {
	ctx := context.Background()
	pool := newPool(b)
	conn, err := pool.Acquire(ctx)
	require.NoError(b, err)
	defer conn.Release()
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		p := pgxpool.ShouldPingParams{Conn: conn.Conn()}
		for b.Loop() {
			if postgres.ShouldPing(ctx, p) {
				b.Fatal("a live connection to ping")
			}
		}
	})
	b.Run("ping", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := conn.Ping(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
