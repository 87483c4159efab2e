package postgres

import (
	"context"
	"log/slog"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

var _ store.PendingLister = (*Store)(nil)

const (
	// A follow-up's deliveries after the cursor, read in order from the
	// index on (ns, campaign_id, due_at, id).
	sqlListPending = `SELECT user_id, id, campaign_id, ready_at, token, due_at, body FROM {pending}
		WHERE ns = $1 AND campaign_id = $2 AND (due_at, id COLLATE "C") > ($3, $4)
		ORDER BY due_at, id COLLATE "C" LIMIT $5`
	// Every follow-up's: the follow-ups with deliveries are found by
	// skipping through the same index (one look-up each), the first
	// deliveries after the cursor of each are read from it, and the
	// earliest of those kept.
	sqlListPendingAll = `WITH RECURSIVE c(id) AS (
			(SELECT campaign_id FROM {pending} WHERE ns = $1 ORDER BY campaign_id LIMIT 1)
			UNION ALL
			SELECT (SELECT campaign_id FROM {pending} WHERE ns = $1 AND campaign_id > c.id ORDER BY campaign_id LIMIT 1)
			FROM c WHERE c.id IS NOT NULL
		)
		SELECT p.user_id, p.id, p.campaign_id, p.ready_at, p.token, p.due_at, p.body FROM c CROSS JOIN LATERAL (
			SELECT user_id, id, campaign_id, ready_at, token, body, due_at FROM {pending}
			WHERE ns = $1 AND campaign_id = c.id AND (due_at, id COLLATE "C") > ($2, $3)
			ORDER BY due_at, id COLLATE "C" LIMIT $4) p
		ORDER BY p.due_at, p.id COLLATE "C" LIMIT $4`
)

// ListPending implements [store.PendingLister.ListPending] with index
// range scans: a page costs about its rows (and, for every follow-up at
// once, one index look-up per follow-up with deliveries). DueAt is
// compared at the microsecond.
//
// A delivery it cannot decode (a newer version's, as for Claim) is listed
// in its place with what its columns hold (user, ID, follow-up, DueAt to
// the microsecond, ReadyAt, Token; the rest zero) and logged at Warn, so
// that the listing and its pages go on during a rolling upgrade.
func (s *Store) ListPending(ctx context.Context, ns string, q store.PendingQuery) ([]store.Claim, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	after := pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	if q.AfterID != "" {
		after = queryTime(floorTime(q.AfterDue))
	}
	var rows pgx.Rows
	var err error
	if q.CampaignID != "" {
		rows, err = s.pool.Query(ctx, s.q.listPending, ns, q.CampaignID, after, q.AfterID, q.Limit)
	} else {
		rows, err = s.pool.Query(ctx, s.q.listPendingAll, ns, after, q.AfterID, q.Limit)
	}
	if err != nil {
		return nil, wrap("list pending", err)
	}
	out, err := s.collectListed(ns, rows)
	if err != nil {
		return nil, wrap("list pending", err)
	}
	return out, nil
}

// collectListed reads the listed rows, those it cannot decode with what
// their columns hold, logged.
func (s *Store) collectListed(ns string, rows pgx.Rows) ([]store.Claim, error) {
	var unreadable []unreadableClaim
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Claim, error) {
		c, derr, err := scanListed(row)
		if derr != nil {
			unreadable = append(unreadable, unreadableClaim{c.UserID, c.Pending.ID, derr})
		}
		return c, err
	})
	s.logUnreadable("pending deliveries this version cannot read are listed without their contents (count; the first's user, delivery and error)",
		unreadable, slog.String("namespace", ns))
	return out, err
}

// scanListed reads a listed row; derr says why its data could not be
// decoded, in which case the claim holds only what the columns do.
func scanListed(row pgx.CollectableRow) (c store.Claim, derr, err error) {
	var (
		ready time.Time
		due   time.Time
		token int64
		body  []byte
	)
	if err := row.Scan(&c.UserID, &c.Pending.ID, &c.Pending.CampaignID, &ready, &token, &due, &body); err != nil {
		return c, nil, err
	}
	c.Pending.ReadyAt, c.Pending.Token = ready.UTC(), uint64(token)
	if derr = decodePending(&c.Pending, c.UserID, body); derr != nil {
		c.Pending = store.Pending{ID: c.Pending.ID, CampaignID: c.Pending.CampaignID, ReadyAt: c.Pending.ReadyAt,
			Token: c.Pending.Token, DueAt: due.UTC()}
	}
	return c, derr, nil
}
