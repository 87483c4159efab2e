package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/jackc/pgx/v5"
)

const dsnVar = "CAMPAIGNCONNECTOR_POSTGRES_DSN"

func TestDashboardOnPostgres(t *testing.T) {
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		const how = "start a throwaway server with `source .ci/postgres.sh start` (from the repository root)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set and CI=true: the PostgreSQL case must run on CI; %s", dsnVar, how)
		}
		t.Skipf("%s is not set: %s", dsnVar, how)
	}
	chromiumPath(t) // skip before touching the database when there is no browser
	schema := fmt.Sprintf("ccdash_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	ctx := context.Background()
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	s, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	checkDashboard(t, "postgres", s)
}

// The SQLite store keeps tallies and lists pending deliveries: its
// dashboard shows the figures, not the notices.
var (
	_ store.Tallier       = (*sqlite.Store)(nil)
	_ store.PendingLister = (*sqlite.Store)(nil)
)

func TestDashboardOnSQLite(t *testing.T) {
	chromiumPath(t) // skip before opening the database when there is no browser
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "campaigns.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	checkDashboard(t, "sqlite", s)
}
