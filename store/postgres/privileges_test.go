package postgres_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// An application role that a deployment step's migration left without
// rights on the table it added (the role was granted the tables that
// existed before) gets an error at Open naming the table and what is
// missing, rather than an error at every use of the table; once granted,
// it opens.
func TestOpenNamesTheTablesTheRoleMayNotUse(t *testing.T) {
	ctx := context.Background()
	schema := testSchema(t)
	admin := newPool(t)
	require.NoError(t, postgres.Migrate(ctx, admin, postgres.WithSchema(schema)))
	role := fmt.Sprintf("cctest_app_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	for _, stmt := range []string{
		"CREATE ROLE " + role + " NOLOGIN",
		"GRANT USAGE ON SCHEMA " + schema + " TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + role,
		"REVOKE ALL ON " + schema + ".campaignconnector_tally_writers FROM " + role,
		"GRANT SELECT, INSERT ON " + schema + ".campaignconnector_tally_writers TO " + role,
	} {
		_, err := admin.Exec(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	t.Cleanup(func() {
		for _, stmt := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := admin.Exec(context.Background(), stmt); err != nil {
				t.Errorf("%s: %v", stmt, err)
			}
		}
	})
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	require.NoError(t, err)
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET ROLE "+role)
		return err
	}
	app, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(app.Close)

	_, err = postgres.New(ctx, app, postgres.WithSchema(schema), postgres.WithMigrate(false))
	require.ErrorIs(t, err, postgres.ErrMissingPrivileges)
	require.ErrorContains(t, err, fmt.Sprintf("role %s lacks UPDATE on %q.campaignconnector_tally_writers, DELETE on %q.campaignconnector_tally_writers:", role, schema, schema))

	_, err = admin.Exec(ctx, "GRANT UPDATE, DELETE ON "+schema+".campaignconnector_tally_writers TO "+role)
	require.NoError(t, err)
	s, err := postgres.New(ctx, app, postgres.WithSchema(schema), postgres.WithMigrate(false))
	require.NoError(t, err)
	s.Close()
}
