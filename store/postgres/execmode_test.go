package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The store refuses, before connecting, the exec modes that type arguments
// by their Go types alone; the others pass that check (and fail, here,
// only on the address no server listens at).
func TestExecModesThatCannotEncodeTheStoresArgumentsAreRefused(t *testing.T) {
	const dsn = "postgres://nobody@127.0.0.1:1/none?connect_timeout=1&default_query_exec_mode="
	ctx := context.Background()
	for mode, refused := range map[string]bool{
		"exec": true, "simple_protocol": true,
		"cache_statement": false, "cache_describe": false, "describe_exec": false,
	} {
		_, err := postgres.Open(ctx, dsn+mode)
		if got := errors.Is(err, postgres.ErrUnsupportedExecMode); got != refused {
			t.Errorf("Open, %s: %v; refused as unsupported: %v, want %v", mode, err, got, refused)
		}
		cfg, err := pgxpool.ParseConfig(dsn + mode)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = postgres.New(ctx, pool)
		pool.Close()
		if got := errors.Is(err, postgres.ErrUnsupportedExecMode); got != refused {
			t.Errorf("New, %s: %v; refused as unsupported: %v, want %v", mode, err, got, refused)
		}
	}
}

// A BeforeConnect hook can set the mode per connection, past the pool's
// configuration: the store checks a connection too.
func TestExecModeSetByAConnectHookIsRefused(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
		cc.DefaultQueryExecMode = pgx.QueryExecModeExec
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := postgres.New(ctx, pool); !errors.Is(err, postgres.ErrUnsupportedExecMode) {
		t.Fatalf("New: %v, want ErrUnsupportedExecMode", err)
	}
	if err := pool.Ping(ctx); err != nil {
		t.Errorf("the caller's pool no longer works: %v", err)
	}
}
