package sqlite

import (
	"context"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

const (
	// A row comes back when the counter was created, restarted (it had
	// expired at now, ?5) or incremented; none when it had reached the
	// limit.
	sqlTake = `INSERT INTO campaignconnector_counters (ns, key, n, expires) VALUES (?1, ?2, 1, ?4)
		ON CONFLICT (ns, key) DO UPDATE SET
			n = CASE WHEN expires <= ?5 THEN 1 ELSE n + 1 END,
			expires = CASE WHEN expires <= ?5 THEN excluded.expires ELSE max(expires, excluded.expires) END
		WHERE n < ?3 OR expires <= ?5
		RETURNING n`
	sqlStats = `SELECT
		(SELECT count(*) FROM campaignconnector_campaigns WHERE ns = ?1),
		(SELECT count(*) FROM (SELECT user_id FROM campaignconnector_users WHERE ns = ?1
			UNION SELECT user_id FROM campaignconnector_pending WHERE ns = ?1)),
		(SELECT count(*) FROM campaignconnector_pending WHERE ns = ?1),
		(SELECT count(*) FROM campaignconnector_interactions WHERE ns = ?1)`
	// A search of the namespace's range of a covering index
	// (pending_ready): no row of the table is read.
	sqlPendingCount = `SELECT count(*) FROM campaignconnector_pending WHERE ns = ?1`
	// One follow-up's, up to a bound: the first entries of its range of
	// the index on (ns, campaign_id, due_at, id), no more than the bound,
	// and no row of the table.
	sqlCampaignPendingCount = `SELECT count(*) FROM (SELECT 1 FROM campaignconnector_pending WHERE ns = ?1 AND campaign_id = ?2 LIMIT ?3)`
)

var (
	_ store.PendingCounter         = (*Store)(nil)
	_ store.CampaignPendingCounter = (*Store)(nil)
)

// Take implements [store.Store.Take] with one upsert in a write
// transaction.
func (s *Store) Take(ctx context.Context, ns, key string, limit int64, now, expires time.Time) (bool, error) {
	if err := s.begin(ctx); err != nil {
		return false, err
	}
	if err := checkNow(now); err != nil {
		return false, wrap("take", err)
	}
	if limit <= 0 {
		return false, nil
	}
	var taken bool
	err := s.write(ctx, func(t *tx) error {
		var n int64
		var err error
		taken, err = t.queryRow(sqlTake, []any{ns, key, limit, nanos(expires), nanos(now)}, &n)
		return err
	})
	if err != nil {
		return false, wrap("take", err)
	}
	return taken, nil
}

// Stats implements [store.Store.Stats] with counts in one statement, so
// in one snapshot: a user counts when it has a state row or a pending
// delivery. It reads every row of the namespace's tables: for metrics
// scraped now and then, not for hot paths.
func (s *Store) Stats(ctx context.Context, ns string) (store.Stats, error) {
	if err := s.begin(ctx); err != nil {
		return store.Stats{}, err
	}
	var st store.Stats
	_, err := s.queryRow(ctx, sqlStats, []any{ns}, &st.Campaigns, &st.Users, &st.Pending, &st.Interactions)
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
	_, err := s.queryRow(ctx, sqlPendingCount, []any{ns}, &n)
	return n, wrap("pending count", err)
}

// CampaignPendingCount implements
// [store.CampaignPendingCounter.CampaignPendingCount] with a count of the
// first limit entries of the follow-up's range of the index on (ns,
// campaign_id, due_at, id), on a reading connection: it costs about
// min(limit, the follow-up's pending deliveries), whatever the backlog.
func (s *Store) CampaignPendingCount(ctx context.Context, ns, campaignID string, limit int64) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	if err := store.CheckCampaignCount(campaignID, limit); err != nil {
		return 0, err
	}
	var n int64
	_, err := s.queryRow(ctx, sqlCampaignPendingCount, []any{ns, campaignID, limit}, &n)
	return n, wrap("pending count of a follow-up", err)
}
