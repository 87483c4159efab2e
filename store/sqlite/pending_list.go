package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"math"
	"slices"
	"strings"

	"github.com/campaignconnector/campaignconnector/store"
)

var _ store.PendingLister = (*Store)(nil)

const (
	// A follow-up's deliveries from the cursor on, read in order from the
	// index on (ns, campaign_id, due_at, id); then the rows without
	// due_at (written by a process of an earlier version during a rolling
	// upgrade), from their partial index: few or none. One statement, so
	// one snapshot. due_at is NULL on the undated rows alone.
	sqlListPending = `SELECT * FROM (
			SELECT user_id, id, campaign_id, ready_at, token, data, due_at FROM campaignconnector_pending
			WHERE ns = ?1 AND campaign_id = ?2 AND (due_at, id) >= (?3, ?4) ORDER BY due_at, id LIMIT ?5)
		UNION ALL
		SELECT user_id, id, campaign_id, ready_at, token, data, due_at FROM campaignconnector_pending
		WHERE ns = ?1 AND due_at IS NULL AND campaign_id = ?2`
	// Every follow-up's: the follow-ups with deliveries are found by
	// skipping through the same index (one look-up each), the first
	// deliveries from the cursor on of each are read from it, and the
	// earliest of those kept; then the undated rows, as above.
	sqlListPendingAll = `WITH RECURSIVE c(id) AS (
			SELECT (SELECT campaign_id FROM campaignconnector_pending WHERE ns = ?1 ORDER BY campaign_id LIMIT 1)
			UNION ALL
			SELECT (SELECT campaign_id FROM campaignconnector_pending WHERE ns = ?1 AND campaign_id > c.id ORDER BY campaign_id LIMIT 1)
			FROM c WHERE c.id IS NOT NULL
		)
		SELECT * FROM (
			SELECT p.user_id, p.id, p.campaign_id, p.ready_at, p.token, p.data, p.due_at
			FROM c JOIN campaignconnector_pending p ON p.rowid IN (
				SELECT rowid FROM campaignconnector_pending
				WHERE ns = ?1 AND campaign_id = c.id AND (due_at, id) >= (?2, ?3) ORDER BY due_at, id LIMIT ?4)
			ORDER BY p.due_at, p.id LIMIT ?4)
		UNION ALL
		SELECT user_id, id, campaign_id, ready_at, token, data, due_at FROM campaignconnector_pending
		WHERE ns = ?1 AND due_at IS NULL`
)

// ListPending implements [store.PendingLister.ListPending] with index
// range scans on a reading connection: a page costs about its rows (and,
// for every follow-up at once, one index look-up per follow-up with
// deliveries, and up to q.Limit rows of each). DueAt is compared exactly,
// in nanoseconds, as the store keeps it. A delivery this version cannot
// decode (a newer version's) fails the call, naming it.
func (s *Store) ListPending(ctx context.Context, ns string, q store.PendingQuery) ([]store.Claim, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	// The statements select from (due, id) on, inclusive: the smallest key
	// after the cursor is its ID followed by a NUL byte (IDs compare
	// byte-wise), and with no cursor, the smallest there is.
	due, id := int64(math.MinInt64), ""
	if q.AfterID != "" {
		due, id = nanos(q.AfterDue), q.AfterID+"\x00"
	}
	var (
		out     []store.Claim
		undated bool
	)
	scan := func(rows *sql.Rows) error {
		out, undated = out[:0], false
		for rows.Next() {
			var (
				c            store.Claim
				ready, token int64
				data         []byte
				dueAt        sql.NullInt64
			)
			if err := rows.Scan(&c.UserID, &c.Pending.ID, &c.Pending.CampaignID, &ready, &token, &data, &dueAt); err != nil {
				return err
			}
			c.Pending.ReadyAt, c.Pending.Token = timeOf(ready), uint64(token)
			if err := (*pendingCache)(nil).decode(&c.Pending, data); err != nil {
				return err
			}
			if !dueAt.Valid {
				if q.AfterID != "" && listedOrder(nanos(c.Pending.DueAt), c.Pending.ID, due, id) < 0 {
					continue // before the cursor
				}
				undated = true
			}
			out = append(out, c)
		}
		return nil
	}
	var err error
	if q.CampaignID != "" {
		err = s.query(ctx, sqlListPending, scan, ns, q.CampaignID, due, id, q.Limit)
	} else {
		err = s.query(ctx, sqlListPendingAll, scan, ns, due, id, q.Limit)
	}
	if err != nil {
		return nil, wrap("list pending", err)
	}
	if !undated {
		return out, nil
	}
	// Merged in the order the index gives the others.
	slices.SortFunc(out, func(a, b store.Claim) int {
		return listedOrder(nanos(a.Pending.DueAt), a.Pending.ID, nanos(b.Pending.DueAt), b.Pending.ID)
	})
	return out[:min(len(out), q.Limit)], nil
}

// listedOrder orders deliveries by due time, in nanoseconds, then ID
// (byte-wise, as the index does).
func listedOrder(dueA int64, idA string, dueB int64, idB string) int {
	return cmp.Or(cmp.Compare(dueA, dueB), strings.Compare(idA, idB))
}
