package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/postgres"
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
