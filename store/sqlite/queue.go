package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

const (
	sqlNextDue = `SELECT min(ready_at) FROM campaignconnector_pending WHERE ns = ?`
	// Up to ?3 due rows, earliest first, leased in the same statement.
	sqlClaim = `UPDATE campaignconnector_pending SET token = ?4, ready_at = ?5
		WHERE rowid IN (SELECT rowid FROM campaignconnector_pending WHERE ns = ?1 AND ready_at <= ?2 ORDER BY ready_at LIMIT ?3)
		RETURNING user_id, id, campaign_id, data`
	sqlCancelRecord = `SELECT state, activation FROM campaignconnector_campaigns WHERE ns = ? AND id = ?`
	sqlCancelSelect = `SELECT rowid, user_id, id, campaign_id, ready_at, token, data FROM campaignconnector_pending
		WHERE ns = ? AND campaign_id = ?`
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
	if err := checkNow(now); err != nil {
		return nil, wrap("claim", err)
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
	s.logUnreadable("pending deliveries this version cannot read are left to others until their lease ends (count; the first's user, delivery and error)",
		unreadable, slog.String("namespace", ns), slog.Time("lease_until", until))
	return out, nil
}

// unreadableClaim is a delivery Claim leased but could not decode.
type unreadableClaim struct {
	userID, id string
	err        error
}

// logUnreadable logs, in one line, the pending deliveries of one call
// that this version cannot read: how many, and the first's user, ID and
// error. A line per delivery would flood the log during a rolling upgrade
// (each claim of a lease meets them again).
func (s *Store) logUnreadable(msg string, list []unreadableClaim, attrs ...slog.Attr) {
	if len(list) == 0 {
		return
	}
	u := list[0]
	attrs = append(attrs, slog.Int("count", len(list)), slog.String("user", u.userID),
		slog.String("delivery", u.id), slog.Any("error", u.err))
	s.log(slog.LevelWarn, msg, attrs...)
}

// CancelCampaign implements [store.Store.CancelCampaign] in one write
// transaction: it reads the campaign's pending rows, then deletes those it
// decoded.
//
// A delivery it cannot decode (a newer version's, as for Claim) is left in
// the queue and logged at Warn, so that a stop does not fail while an
// upgrade is under way: the process that claims it when it is due can read
// it, and the engine there cancels it rather than send it, as it does
// every delivery of a campaign stopped after it was scheduled.
func (s *Store) CancelCampaign(ctx context.Context, ns, campaignID string) ([]store.Claim, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	var (
		out        []store.Claim
		unreadable []unreadableClaim
	)
	err := s.write(ctx, func(t *tx) error {
		c, err := t.startCancel(ns, campaignID)
		if err != nil {
			return err
		}
		err = t.rows(sqlCancelSelect, func(rows *sql.Rows) error {
			var r cancelRow
			if err := rows.Scan(r.dest()...); err != nil {
				return err
			}
			c.add(r)
			return nil
		}, ns, campaignID)
		if err != nil {
			return err
		}
		out, unreadable = c.out, c.unreadable
		return c.remove()
	})
	if err != nil {
		return nil, wrap("cancel campaign", err)
	}
	s.logUnreadable("pending deliveries this version cannot read are left to others to cancel (count; the first's user, delivery and error)",
		unreadable, slog.String("namespace", ns), slog.String("campaign", campaignID))
	return out, nil
}

// cancelling is a cancellation of a campaign's pending deliveries under
// way in a write transaction: what it removes, and what it leaves
// because it cannot decode it.
type cancelling struct {
	t          *tx
	through    int64 // the highest activation whose deliveries go
	out        []store.Claim
	unreadable []unreadableClaim
	rowids     []int64 // of out
}

// startCancel reads campaign campaignID's state and activation, which say
// which deliveries go: those of a later activation (a resume that
// overtook the stop) stay.
func (t *tx) startCancel(ns, campaignID string) (*cancelling, error) {
	var rec store.CampaignRecord
	var state string
	found, err := t.queryRow(sqlCancelRecord, []any{ns, campaignID}, &state, &rec.Activation)
	if err != nil {
		return nil, err
	}
	rec.State = rule.State(state)
	return &cancelling{t: t, through: store.CancelThrough(rec, found)}, nil
}

// cancelRow is a pending row as a cancellation reads it.
type cancelRow struct {
	c                   store.Claim
	rowid, ready, token int64
	data                []byte
}

// dest returns the places of the row's columns, in the order the
// cancellations' statements select them.
func (r *cancelRow) dest() []any {
	return []any{&r.rowid, &r.c.UserID, &r.c.Pending.ID, &r.c.Pending.CampaignID, &r.ready, &r.token, &r.data}
}

// add decodes r and takes it among the deliveries that go, unless it is
// of a later activation, or cannot be decoded (it is then left, and
// logged).
func (c *cancelling) add(r cancelRow) {
	r.c.Pending.ReadyAt, r.c.Pending.Token = timeOf(r.ready), uint64(r.token)
	if err := c.t.w.cache.decode(&r.c.Pending, r.data); err != nil {
		c.unreadable = append(c.unreadable, unreadableClaim{r.c.UserID, r.c.Pending.ID, err})
		return
	}
	if r.c.Pending.Activation > c.through {
		return // a later activation's
	}
	c.out = append(c.out, r.c)
	c.rowids = append(c.rowids, r.rowid)
}

// remove deletes the rows of the deliveries taken.
func (c *cancelling) remove() error {
	if len(c.rowids) == 0 {
		return nil
	}
	ids, err := json.Marshal(c.rowids)
	if err != nil {
		return err
	}
	_, err = c.t.exec(sqlPendingDeleteRows, string(ids))
	return err
}
