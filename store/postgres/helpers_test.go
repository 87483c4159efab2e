package postgres_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

const dsnVar = "CAMPAIGNCONNECTOR_POSTGRES_DSN"

// testDSN returns the test server's DSN. Without one the test is skipped,
// except on CI, where a missing database is a failure.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		const how = "start a throwaway server with `source .ci/postgres.sh start` (from the repository root)"
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set and CI=true: the PostgreSQL tests must run on CI; %s", dsnVar, how)
		}
		tb.Skipf("%s is not set: %s", dsnVar, how)
	}
	return dsn
}

var schemaCounter atomic.Int64

// testSchema returns a schema name no other test of any run uses, and
// drops the schema when the test ends (after the cleanups registered
// later, such as closing stores).
func testSchema(tb testing.TB) string {
	tb.Helper()
	dsn := testDSN(tb)
	name := fmt.Sprintf("cctest_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, schemaCounter.Add(1))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("dropping schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
			tb.Errorf("dropping schema %s: %v", name, err)
		}
	})
	return name
}

// openStore opens a store on dsn, closed when the test ends.
func openStore(tb testing.TB, opts ...postgres.Option) *postgres.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, testDSN(tb), opts...)
	require.NoError(tb, err)
	tb.Cleanup(s.Close)
	return s
}

// newPool returns a pool on the test server, closed when the test ends.
func newPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), testDSN(tb))
	require.NoError(tb, err)
	tb.Cleanup(pool.Close)
	return pool
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newPending(user, campaignID, id string, due time.Time) *store.Pending {
	return &store.Pending{
		ID: id, CampaignID: campaignID, Activation: 1,
		Trigger: event.Event{ID: "ev-" + id, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter",
			Time: due.Add(-time.Hour)},
		DueAt: due, ReadyAt: due,
	}
}

// schedule adds a pending delivery to user's state.
func schedule(tb testing.TB, s store.Store, ns, user, id string, due time.Time) {
	tb.Helper()
	err := s.Update(context.Background(), ns, user, t0, store.Dedup{}, func(u *store.UserState, _ bool) {
		u.Pending = append(u.Pending, newPending(user, "f", id, due))
	})
	require.NoError(tb, err)
}

// waitFor fails the test unless ch receives within d.
func waitFor(tb testing.TB, ch <-chan struct{}, d time.Duration, what string) {
	tb.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		tb.Fatalf("no notification within %v: %s", d, what)
	}
}
