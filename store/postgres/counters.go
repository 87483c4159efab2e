package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
)

const (
	// A row comes back when the counter was created or incremented; none
	// when it had reached the limit. Like the memory store, an expired
	// counter counts until Prune forgets it (Take has no now to compare).
	sqlTake = `INSERT INTO {counters} AS c (ns, key, n, expires) VALUES ($1, $2, 1, $4)
		ON CONFLICT (ns, key) DO UPDATE SET n = c.n + 1, expires = greatest(c.expires, EXCLUDED.expires)
		WHERE c.n < $3
		RETURNING n`
	sqlStats = `SELECT
		(SELECT count(*) FROM {campaigns} WHERE ns = $1),
		(SELECT count(*) FROM (SELECT user_id FROM {users} WHERE ns = $1 UNION SELECT user_id FROM {pending} WHERE ns = $1) u),
		(SELECT count(*) FROM {pending} WHERE ns = $1),
		(SELECT count(*) FROM {interactions} WHERE ns = $1)`
)

// Take implements [store.Store.Take] with one upsert, atomic under any
// concurrency. expires is rounded up to the microsecond.
func (s *Store) Take(ctx context.Context, ns, key string, limit int64, expires time.Time) (bool, error) {
	if err := s.begin(ctx); err != nil {
		return false, err
	}
	if limit <= 0 {
		return false, nil
	}
	var n int64
	err := s.pool.QueryRow(ctx, s.q.take, ns, key, limit, ceilTime(expires)).Scan(&n)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, wrap("take", err)
	}
	return true, nil
}

// Stats implements [store.Store.Stats] with counts in one snapshot: a
// user counts when it has a state row or a pending delivery. It reads
// every row of the namespace's tables: for metrics scraped now and then,
// not for hot paths.
func (s *Store) Stats(ctx context.Context, ns string) (store.Stats, error) {
	if err := s.begin(ctx); err != nil {
		return store.Stats{}, err
	}
	var st store.Stats
	err := s.pool.QueryRow(ctx, s.q.stats, ns).Scan(&st.Campaigns, &st.Users, &st.Pending, &st.Interactions)
	return st, wrap("stats", err)
}
