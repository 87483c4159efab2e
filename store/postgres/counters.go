package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
)

const (
	// A row comes back when the counter was created, restarted (it had
	// expired at now, $5) or incremented; none when it had reached the limit.
	sqlTake = `INSERT INTO {counters} AS c (ns, key, n, expires) VALUES ($1, $2, 1, $4)
		ON CONFLICT (ns, key) DO UPDATE SET
			n = CASE WHEN c.expires <= $5 THEN 1 ELSE c.n + 1 END,
			expires = CASE WHEN c.expires <= $5 THEN EXCLUDED.expires ELSE greatest(c.expires, EXCLUDED.expires) END
		WHERE c.n < $3 OR c.expires <= $5
		RETURNING n`
	sqlStats = `SELECT
		(SELECT count(*) FROM {campaigns} WHERE ns = $1),
		(SELECT count(*) FROM (SELECT user_id FROM {users} WHERE ns = $1 UNION SELECT user_id FROM {pending} WHERE ns = $1) u),
		(SELECT count(*) FROM {pending} WHERE ns = $1),
		(SELECT count(*) FROM {interactions} WHERE ns = $1)`
	// An index-only scan of the namespace's range of pending_ready, or a
	// scan of the table when the namespace holds most of it: either way
	// about the namespace's pending rows (docs/postgres-plans.md).
	sqlPendingCount = `SELECT count(*) FROM {pending} WHERE ns = $1`
	// One follow-up's, up to a bound: the first entries of its range of
	// the index on (ns, campaign_id, due_at, id), no more than the bound.
	// The order is the index's, so that every plan reads the index and
	// stops at the bound: without it, a plan made for a follow-up with
	// most of the rows (or a generic one, on a table of few follow-ups)
	// reads the table from its start, all of it for a follow-up with few.
	sqlCampaignPendingCount = `SELECT count(*) FROM (SELECT FROM {pending} WHERE ns = $1 AND campaign_id = $2
		ORDER BY due_at, id COLLATE "C" LIMIT $3) p`
)

var (
	_ store.PendingCounter         = (*Store)(nil)
	_ store.CampaignPendingCounter = (*Store)(nil)
)

// Take implements [store.Store.Take] with one upsert, atomic under any
// concurrency, in a READ COMMITTED transaction sent in one round trip:
// at the REPEATABLE READ or SERIALIZABLE a host's pool may set by default,
// takes colliding on one key would fail with serialization errors.
// expires is rounded up to the microsecond.
func (s *Store) Take(ctx context.Context, ns, key string, limit int64, now, expires time.Time) (bool, error) {
	if err := s.begin(ctx); err != nil {
		return false, err
	}
	if limit <= 0 {
		return false, nil
	}
	taken := false
	b := committedBatch(func(b *pgx.Batch) { b.Queue(s.q.take, ns, key, limit, ceilTime(expires), floorTime(now)) })
	err := s.committed(ctx, b, func(br pgx.BatchResults) error {
		var n int64
		err := br.QueryRow().Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // at the limit
		}
		taken = err == nil
		return err
	})
	if err != nil {
		return false, wrap("take", err)
	}
	return taken, nil
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

// PendingCount implements [store.PendingCounter.PendingCount] with one
// count of the namespace's pending rows, read from an index: it costs
// about the namespace's pending deliveries, and none of the users,
// campaigns and interactions Stats also counts.
func (s *Store) PendingCount(ctx context.Context, ns string) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	var n int64
	err := s.pool.QueryRow(ctx, s.q.pendingCount, ns).Scan(&n)
	return n, wrap("pending count", err)
}

// CampaignPendingCount implements
// [store.CampaignPendingCounter.CampaignPendingCount] with a count of the
// first limit entries of the follow-up's range of the index on (ns,
// campaign_id, due_at, id): it costs about min(limit, the follow-up's
// pending deliveries), whatever the backlog.
func (s *Store) CampaignPendingCount(ctx context.Context, ns, campaignID string, limit int64) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	if err := store.CheckCampaignCount(campaignID, limit); err != nil {
		return 0, err
	}
	var n int64
	err := s.pool.QueryRow(ctx, s.q.campaignPendingCount, ns, campaignID, limit).Scan(&n)
	return n, wrap("pending count of a follow-up", err)
}
