package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// MigrateTo brings the schema to version last, as Migrate brings it to the
// latest: for tests of the upgrades.
func MigrateTo(ctx context.Context, pool *pgxpool.Pool, last int, opts ...Option) error {
	cfg, err := applyOptions(opts)
	if err != nil {
		return err
	}
	if err := resolveSchema(ctx, pool, &cfg); err != nil {
		return err
	}
	return migrateTo(ctx, pool, cfg, last)
}

// UserLock is the advisory lock key of a user's updates, for tests that
// need users whose keys come in a given order.
func UserLock(s *Store, ns, userID string) int64 { return s.userLock(ns, userID) }
