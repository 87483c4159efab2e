package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// rolePool returns a pool on the test server whose connections act as
// role (SET ROLE), closed when the test ends.
func rolePool(t *testing.T, role string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	require.NoError(t, err)
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET ROLE "+role)
		return err
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// The steps of docs/stores.md's "Separate roles for migrations", taken
// on a store the migrator had brought to version 5, are enough for an
// engine of the application's role to track, send, prune and count,
// including on the table version 6 adds (tally_writers, made after the
// grants); a role granted USAGE and SELECT only opens the store and
// reads, and its writes fail with PostgreSQL's error naming the table.
func TestTheDocumentedGrantsRunAnEngine(t *testing.T) {
	ctx := context.Background()
	schema := testSchema(t)
	admin := newPool(t)
	suffix := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	migrator, app, reader := "cctest_migrator_"+suffix, "cctest_app_"+suffix, "cctest_reader_"+suffix
	exec := func(stmt string) {
		t.Helper()
		_, err := admin.Exec(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	for _, r := range []string{migrator, app, reader} {
		exec("CREATE ROLE " + r + " NOLOGIN")
	}
	t.Cleanup(func() {
		for _, r := range []string{reader, app, migrator} {
			for _, stmt := range []string{"DROP OWNED BY " + r + " CASCADE", "DROP ROLE " + r} {
				if _, err := admin.Exec(context.Background(), stmt); err != nil {
					t.Errorf("%s: %v", stmt, err)
				}
			}
		}
	})
	exec("CREATE SCHEMA " + schema + " AUTHORIZATION " + migrator) // step 1
	mig := rolePool(t, migrator)
	require.NoError(t, postgres.MigrateTo(ctx, mig, 5, postgres.WithSchema(schema)))

	for _, stmt := range []string{ // step 2, as the migrator
		"GRANT USAGE ON SCHEMA " + schema + " TO " + app,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + app,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + schema + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + app,
		"GRANT USAGE ON SCHEMA " + schema + " TO " + reader,
		"GRANT SELECT ON ALL TABLES IN SCHEMA " + schema + " TO " + reader,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + schema + " GRANT SELECT ON TABLES TO " + reader,
	} {
		_, err := mig.Exec(ctx, stmt)
		require.NoError(t, err, stmt)
	}

	require.NoError(t, postgres.Migrate(ctx, mig, postgres.WithSchema(schema)), "step 3: a later migration adds a table")

	s, err := postgres.New(ctx, rolePool(t, app), postgres.WithSchema(schema), postgres.WithMigrate(false))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	var sent atomic.Int64
	e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error {
		sent.Add(1)
		return nil
	}), connector.WithClock(clk))
	require.NoError(t, err)
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "news"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "resend", Delay: rule.After(time.Hour),
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}}}))
	require.NoError(t, e.Publish(ctx, "resend"))
	require.NoError(t, e.Publish(ctx, "news"))
	for _, u := range []string{"u1", "u2"} {
		require.NoError(t, e.Track(ctx, event.Event{ID: "rcv-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "news"}))
	}
	clk.Add(2 * time.Hour)
	n, err := e.Tick(ctx) // sends, and prunes: the first Tick of the engine
	require.NoError(t, err)
	require.Equal(t, 2, n)
	got, err := e.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err, "flushing writes tally_writers")
	kinds := map[rule.DecisionKind]int64{}
	for _, x := range got {
		kinds[x.Kind] += x.Count
	}
	require.Equal(t, int64(2), kinds[rule.Scheduled])
	require.Equal(t, int64(2), kinds[rule.Delivered])
	clk.Add(60 * 24 * time.Hour)
	_, err = e.Tick(ctx) // prunes the tallies and the writer's row
	require.NoError(t, err)

	r, err := postgres.New(ctx, rolePool(t, reader), postgres.WithSchema(schema), postgres.WithMigrate(false))
	require.NoError(t, err, "a role that only reads opens the store")
	t.Cleanup(r.Close)
	re, err := connector.New(r, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), connector.WithClock(clk))
	require.NoError(t, err)
	_, err = re.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err, "and reads")
	_, err = re.PendingDeliveries(ctx, store.PendingQuery{Limit: 10})
	require.NoError(t, err)
	err = re.Track(ctx, event.Event{ID: "rcv-u3", UserID: "u3", Kind: event.EmailReceived, CampaignID: "news"})
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "42501", pe.Code, "insufficient privilege")
	require.True(t, strings.Contains(pe.Message, "campaignconnector_"), "the error names the table: %s", pe.Message)
}
