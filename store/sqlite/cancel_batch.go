package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math"

	"github.com/campaignconnector/campaignconnector/internal/batchcursor"
	"github.com/campaignconnector/campaignconnector/store"
)

var _ store.BatchCanceller = (*Store)(nil)

const (
	// A follow-up's rows without due_at (written by a process of an
	// earlier version during a rolling upgrade: few or none) come first,
	// in ID order, from the index on (ns, campaign_id, due_at, id) (its
	// NULL due_at range) ...
	sqlCancelBatchUndated = `SELECT rowid, user_id, id, campaign_id, ready_at, token, data FROM campaignconnector_pending
		WHERE ns = ?1 AND campaign_id = ?2 AND due_at IS NULL AND id > ?3 ORDER BY id LIMIT ?4`
	// ... then the dated ones in (due_at, id) order, after the cursor,
	// from the same index.
	sqlCancelBatchDated = `SELECT rowid, user_id, id, campaign_id, ready_at, token, data, due_at FROM campaignconnector_pending
		WHERE ns = ?1 AND campaign_id = ?2 AND (due_at, id) > (?3, ?4) ORDER BY due_at, id LIMIT ?5`
)

// CancelCampaignBatch implements [store.BatchCanceller]: each call is one
// write transaction, a short turn of the single writer that other writes
// take turns with, which reads the campaign's record and the next limit
// rows of the campaign after cursor from the index on (ns, campaign_id,
// due_at, id), rows without due_at first (in ID order), then the others
// in (due_at, id) order, and deletes those of the activations up to the
// one store.CancelThrough gives. A row it cannot decode is left and
// logged at Warn, as CancelCampaign leaves it. The cursor holds the last
// row's due time and ID, and a checksum of them with ns and campaignID: a
// cursor it did not make, or made for another follow-up, is an error
// wrapping [store.ErrInvalidQuery].
func (s *Store) CancelCampaignBatch(ctx context.Context, ns, campaignID, cursor string, limit int) ([]store.Claim, string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, "", err
	}
	if limit < 1 {
		return nil, "", fmt.Errorf("%w: cancellation batch of %d deliveries: the limit is 1 at least", store.ErrInvalidQuery, limit)
	}
	after := batchKey{undated: true}
	if cursor != "" {
		var err error
		if after, err = decodeBatchCursor(ns, campaignID, cursor); err != nil {
			return nil, "", err
		}
	}
	var (
		out        []store.Claim
		unreadable []unreadableClaim
		last       batchKey
		n          int
	)
	err := s.write(ctx, func(t *tx) error {
		last, n = after, 0
		c, err := t.startCancel(ns, campaignID)
		if err != nil {
			return err
		}
		visit := func(rows *sql.Rows, dated bool) error {
			var r cancelRow
			var due int64
			dest := r.dest()
			if dated {
				dest = append(dest, &due)
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			n++
			last = batchKey{undated: !dated, due: due, id: r.c.Pending.ID}
			c.add(r)
			return nil
		}
		from := batchKey{due: math.MinInt64}
		if after.undated {
			err := t.rows(sqlCancelBatchUndated, func(rows *sql.Rows) error { return visit(rows, false) }, ns, campaignID, after.id, limit)
			if err != nil {
				return err
			}
		} else {
			from = after
		}
		if n < limit {
			err := t.rows(sqlCancelBatchDated, func(rows *sql.Rows) error { return visit(rows, true) }, ns, campaignID, from.due, from.id, limit-n)
			if err != nil {
				return err
			}
		}
		out, unreadable = c.out, c.unreadable
		return c.remove()
	})
	if err != nil {
		return nil, "", wrap("cancel campaign batch", err)
	}
	s.logUnreadable("pending deliveries this version cannot read are left to others to cancel (count; the first's user, delivery and error)",
		unreadable, slog.String("namespace", ns), slog.String("campaign", campaignID))
	next := ""
	if n == limit {
		next = encodeBatchCursor(ns, campaignID, last)
	}
	return out, next, nil
}

// batchKey is a pending row's place in the walk of CancelCampaignBatch:
// the undated rows first, by ID, then the others by (due, ID).
type batchKey struct {
	undated bool
	due     int64
	id      string
}

// A cursor of CancelCampaignBatch (internal/batchcursor) holds the last
// row's due time: 't' and the time in nanoseconds since the Unix epoch,
// or 'n' for a row without due_at (with 0), and its ID. The PostgreSQL
// store's have the same shape, with the time in microseconds, and another
// store name in their checksum.
const batchCursorStore = "sqlite"

func encodeBatchCursor(ns, campaignID string, k batchKey) string {
	c := batchcursor.Key{Kind: 't', N: k.due, ID: k.id}
	if k.undated {
		c.Kind, c.N = 'n', 0
	}
	return batchcursor.Encode(batchCursorStore, ns, campaignID, c)
}

func decodeBatchCursor(ns, campaignID, cursor string) (batchKey, error) {
	invalid := fmt.Errorf("%w: cancellation batch cursor %q: not one this store made for campaign %q", store.ErrInvalidQuery, cursor, campaignID)
	c, ok := batchcursor.Decode(batchCursorStore, ns, campaignID, cursor)
	if !ok || (c.Kind != 't' && c.Kind != 'n') || (c.Kind == 'n' && c.N != 0) {
		return batchKey{}, invalid
	}
	return batchKey{undated: c.Kind == 'n', due: c.N, id: c.ID}, nil
}
