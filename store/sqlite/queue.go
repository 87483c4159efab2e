package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

const (
	sqlNextDue = `SELECT min(ready_at) FROM campaignconnector_pending WHERE ns = ?`
	// Up to ?3 due rows, earliest first, leased in the same statement.
	sqlClaim = `UPDATE campaignconnector_pending SET token = ?4, ready_at = ?5
		WHERE rowid IN (SELECT rowid FROM campaignconnector_pending WHERE ns = ?1 AND ready_at <= ?2 ORDER BY ready_at LIMIT ?3)
		RETURNING user_id, id, campaign_id, data`
	sqlCancel = `DELETE FROM campaignconnector_pending WHERE ns = ? AND campaign_id = ?
		RETURNING user_id, id, campaign_id, ready_at, token, data`
)

// NextDue implements [store.Store.NextDue] with an index look-up.
func (s *Store) NextDue(ctx context.Context, ns string) (time.Time, bool, error) {
	if err := s.begin(ctx); err != nil {
		return time.Time{}, false, err
	}
	var at sql.NullInt64
	if _, err := s.queryRow(ctx, sqlNextDue, []any{ns}, &at); err != nil {
		return time.Time{}, false, wrap("next due", err)
	}
	if !at.Valid {
		return time.Time{}, false, nil
	}
	return timeOf(at.Int64), true, nil
}

// Claim implements [store.Store.Claim] with one UPDATE in a write
// transaction, earliest ReadyAt first. Writes take turns, so concurrent
// claimers, in any process, get disjoint deliveries.
//
// A delivery it cannot decode (written by a newer version of this
// package during a rolling upgrade, with an event kind this one does not
// know, say) is leased like the others but not handed out, and logged at
// Warn: it waits for a process that can read it, and the deliveries
// claimed with it go out.
func (s *Store) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	until := now.Add(lease)
	var (
		out        []store.Claim
		unreadable []unreadableClaim
	)
	err := s.write(ctx, func(t *tx) error {
		out, unreadable = out[:0], unreadable[:0]
		rows, err := t.query(sqlClaim, ns, nanos(now), limit, int64(token), nanos(until))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c := store.Claim{Pending: store.Pending{ReadyAt: timeOf(nanos(until)), Token: token}}
			var data []byte
			if err := rows.Scan(&c.UserID, &c.Pending.ID, &c.Pending.CampaignID, &data); err != nil {
				return err
			}
			if err := t.w.cache.decode(&c.Pending, data); err != nil {
				unreadable = append(unreadable, unreadableClaim{c.UserID, c.Pending.ID, err})
				continue
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap("claim", err)
	}
	for _, u := range unreadable {
		s.log(slog.LevelWarn, "a pending delivery this version cannot read is left to others until its lease ends",
			slog.String("namespace", ns), slog.String("user", u.userID), slog.String("delivery", u.id),
			slog.Time("lease_until", until), slog.Any("error", u.err))
	}
	return out, nil
}

// unreadableClaim is a delivery Claim leased but could not decode.
type unreadableClaim struct {
	userID, id string
	err        error
}

// CancelCampaign implements [store.Store.CancelCampaign] with one DELETE
// in a write transaction.
func (s *Store) CancelCampaign(ctx context.Context, ns, campaignID string) ([]store.Claim, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	var out []store.Claim
	err := s.write(ctx, func(t *tx) error {
		out = out[:0]
		rows, err := t.query(sqlCancel, ns, campaignID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				c            store.Claim
				ready, token int64
				data         []byte
			)
			if err := rows.Scan(&c.UserID, &c.Pending.ID, &c.Pending.CampaignID, &ready, &token, &data); err != nil {
				return err
			}
			c.Pending.ReadyAt, c.Pending.Token = timeOf(ready), uint64(token)
			if err := t.w.cache.decode(&c.Pending, data); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap("cancel campaign", err)
	}
	return out, nil
}
