package postgres

import (
	"context"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

const (
	sqlNextDue = `SELECT min(ready_at) FROM {pending} WHERE ns = $1`
	// Whether another user's delivery is due at $2 or before: Update's
	// wake-up test (the user's own rows, which the update may have just
	// written, do not count).
	sqlEarlier = `SELECT EXISTS (SELECT 1 FROM {pending} WHERE ns = $1 AND ready_at <= $2 AND user_id <> $3)`
	// One statement, so one implicit transaction: lock up to $3 due rows,
	// skipping those another Claim, an Update or a CancelCampaign holds,
	// and lease them. A row an Update changed since the snapshot is
	// re-checked against ready_at <= $2 once locked.
	// The rows to claim are picked once, in a materialized CTE: a LIMIT
	// subquery joined in the UPDATE may be rescanned for each row the
	// join visits, and each rescan skips the rows this statement already
	// updated and locks LIMIT more.
	sqlClaim = `WITH due AS MATERIALIZED (SELECT user_id, id FROM {pending} WHERE ns = $1 AND ready_at <= $2
			ORDER BY ready_at LIMIT $3 FOR UPDATE SKIP LOCKED)
		UPDATE {pending} p SET token = $4, ready_at = $5
		FROM due
		WHERE p.ns = $1 AND p.user_id = due.user_id AND p.id = due.id
		RETURNING p.user_id, p.id, p.campaign_id, p.data`
	// Rows are locked in (user, seq) order, the order Update locks a
	// user's rows in, which keeps the two from deadlocking in most cases
	// (Update retries the others).
	sqlCancel = `DELETE FROM {pending} p USING (SELECT user_id, id FROM {pending} WHERE ns = $1 AND campaign_id = $2
			ORDER BY user_id, seq FOR UPDATE) c
		WHERE p.ns = $1 AND p.user_id = c.user_id AND p.id = c.id
		RETURNING p.user_id, p.id, p.campaign_id, p.ready_at, p.token, p.data`
)

// NextDue implements [store.Store.NextDue] with an index look-up.
func (s *Store) NextDue(ctx context.Context, ns string) (time.Time, bool, error) {
	if err := s.begin(ctx); err != nil {
		return time.Time{}, false, err
	}
	var at pgtype.Timestamptz
	if err := s.pool.QueryRow(ctx, s.q.nextDue, ns).Scan(&at); err != nil {
		return time.Time{}, false, wrap("next due", err)
	}
	if !at.Valid {
		return time.Time{}, false, nil
	}
	return at.Time.UTC(), true, nil
}

// Claim implements [store.Store.Claim] with one UPDATE … FOR UPDATE SKIP
// LOCKED statement, earliest ReadyAt first: concurrent claimers take
// disjoint rows without waiting for each other. now is rounded down to the
// microsecond, and so is the lease's end.
func (s *Store) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	until := floorTime(now.Add(lease))
	// Planned for its arguments each time (an unnamed statement, still one
	// round trip): a cached generic plan, not knowing the LIMIT, may join
	// the due rows by scanning the whole table.
	rows, err := s.pool.Query(ctx, s.q.claim, pgx.QueryExecModeCacheDescribe, ns, floorTime(now), limit, int64(token), until)
	if err != nil {
		return nil, wrap("claim", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Claim, error) {
		c := store.Claim{Pending: store.Pending{ReadyAt: until, Token: token}}
		var data []byte
		if err := row.Scan(&c.UserID, &c.Pending.ID, &c.Pending.CampaignID, &data); err != nil {
			return c, err
		}
		return c, decodePending(&c.Pending, data)
	})
	if err != nil {
		return nil, wrap("claim", err)
	}
	return out, nil
}

// CancelCampaign implements [store.Store.CancelCampaign] with one DELETE.
func (s *Store) CancelCampaign(ctx context.Context, ns, campaignID string) ([]store.Claim, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	var out []store.Claim
	for attempt := 1; ; attempt++ {
		rows, err := s.pool.Query(ctx, s.q.cancel, ns, campaignID)
		if err == nil {
			out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Claim, error) {
				var (
					c     store.Claim
					ready time.Time
					token int64
					data  []byte
				)
				if err := row.Scan(&c.UserID, &c.Pending.ID, &c.Pending.CampaignID, &ready, &token, &data); err != nil {
					return c, err
				}
				c.Pending.ReadyAt, c.Pending.Token = ready.UTC(), uint64(token)
				return c, decodePending(&c.Pending, data)
			})
		}
		if err == nil {
			return out, nil
		}
		if !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return nil, wrap("cancel campaign", err)
		}
	}
}
