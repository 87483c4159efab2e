package postgres

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	sqlNextDue = `SELECT min(ready_at) FROM {pending} WHERE ns = $1`
	// Lock up to $3 due rows, skipping those another Claim, an Update or a
	// CancelCampaign holds, and lease them. The rows to claim are picked
	// once, in a materialized CTE, then updated by their ctids (a TID
	// scan); a row another transaction changed since the statement began
	// is left for the next Claim. The due rows are read from the ready
	// index in order, up to the limit: the statement runs with the
	// planner settings of Update (sqlPlanByIndex), because statistics
	// lag behind a queue. On a table never analyzed (a new one, in its
	// first minute) the planner guesses with default selectivities (half
	// a percent of the rows for the namespace, whatever their number), and
	// one analyzed an hour ago knows none of the rows that fell due since;
	// either way it would rather read every due row in a bitmap scan and
	// sort them, at each Claim. The due time is an InitPlan's value for
	// the same reason: a plan made for one time must not depend on how
	// many rows it finds.
	sqlClaim = `WITH due AS MATERIALIZED (SELECT ctid FROM {pending} WHERE ns = $1 AND ready_at <= (SELECT $2::timestamptz)
			ORDER BY ready_at LIMIT $3 FOR UPDATE SKIP LOCKED)
		UPDATE {pending} SET token = $4, ready_at = $5
		WHERE ctid = ANY (ARRAY(SELECT ctid FROM due))
		RETURNING user_id, id, campaign_id, body`
	// The campaign's state and activation say which deliveries go.
	sqlCancelRecord = `SELECT state, activation FROM {campaigns} WHERE ns = $1 AND id = $2`
	// Rows are locked in (user, seq) order, the order Update locks a
	// user's rows in, which keeps the two from deadlocking in most cases
	// (Update retries the others).
	sqlCancel = `SELECT user_id, id, campaign_id, ready_at, token, body FROM {pending} WHERE ns = $1 AND campaign_id = $2
		ORDER BY user_id, seq FOR UPDATE`
	sqlCancelDelete = `DELETE FROM {pending} p USING unnest($2::text[], $3::text[]) AS x(u, i)
		WHERE p.ns = $1 AND p.user_id = x.u AND p.id = x.i`
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
// LOCKED statement, earliest ReadyAt first, in a transaction with the
// planner settings of Update, all in one round trip: concurrent claimers
// take disjoint rows without waiting for each other. now is rounded down
// to the microsecond, and so is the lease's end.
//
// A delivery it cannot decode (written by a newer version of this package
// during a rolling upgrade, with an event kind this one does not know,
// say) is leased like the others but not handed out, and logged at Warn:
// it waits for a process that can read it, and the deliveries claimed
// with it go out.
func (s *Store) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	until := floorTime(now.Add(lease))
	var (
		out        []store.Claim
		unreadable []unreadableClaim
	)
	err := s.committed(ctx, s.claimBatch(ns, floorTime(now), limit, token, until), func(br pgx.BatchResults) (err error) {
		out, unreadable, err = readClaims(br, until, token)
		return err
	})
	if err != nil {
		return nil, wrap("claim", err)
	}
	s.logUnreadable("pending deliveries this version cannot read are left to others until their lease ends (count; the first's user, delivery and error)",
		unreadable, slog.String("namespace", ns), slog.Time("lease_until", until))
	return out, nil
}

// claimBatch is Claim's one round trip: the transaction, its planner
// settings, the claim and the commit.
func (s *Store) claimBatch(ns string, now time.Time, limit int, token uint64, until time.Time) *pgx.Batch {
	return committedBatch(func(b *pgx.Batch) {
		b.Queue(sqlPlanByIndex)
		b.Queue(s.q.claim, ns, now, limit, int64(token), until)
	})
}

// readClaims reads the results of Claim's batch after BEGIN: the
// deliveries claimed with lease until and token, and those this version
// cannot read.
func readClaims(br pgx.BatchResults, until time.Time, token uint64) ([]store.Claim, []unreadableClaim, error) {
	if _, err := br.Exec(); err != nil { // the settings
		return nil, nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	var (
		out        []store.Claim
		unreadable []unreadableClaim
	)
	for rows.Next() {
		c := store.Claim{Pending: store.Pending{ReadyAt: until, Token: token}}
		var body []byte
		if err = rows.Scan(&c.UserID, &c.Pending.ID, &c.Pending.CampaignID, &body); err != nil {
			break
		}
		if derr := decodePending(&c.Pending, c.UserID, body); derr != nil {
			unreadable = append(unreadable, unreadableClaim{c.UserID, c.Pending.ID, derr})
			continue
		}
		out = append(out, c)
	}
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return nil, nil, err
	}
	return out, unreadable, nil
}

// CancelCampaign implements [store.Store.CancelCampaign] with one
// transaction of two round trips: it locks the campaign's pending rows,
// then deletes those it decoded. Like Update, it runs again after a
// deadlock, and ctx ending during the second round trip does not stop it:
// it is waited for, up to 30 s after ctx ends.
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
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, wrap("cancel campaign", err)
	}
	defer conn.Release()
	for attempt := 1; ; attempt++ {
		out, unreadable, err := s.cancelOnce(ctx, conn, ns, campaignID)
		if err == nil {
			s.logUnreadable("pending deliveries this version cannot read are left to others to cancel (count; the first's user, delivery and error)",
				unreadable, slog.String("namespace", ns), slog.String("campaign", campaignID))
			return out, nil
		}
		rollback(conn)
		if !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return nil, wrap("cancel campaign", err)
		}
	}
}

// cancelOnce takes the campaign's cancellation lock (Store.campaignLock),
// so that it waits for a batch of CancelCampaignBatch, holding no row,
// rather than lock the rows of the users the batch has not reached and
// wait for the batch with them, and a batch waits for it likewise. It then
// reads the campaign's record, then the pending rows of the
// activations up to the one store.CancelThrough gives for it (those of a
// later activation, from a resume the read did not see, are read but left
// as they are), and deletes them.
func (s *Store) cancelOnce(ctx context.Context, conn *pgxpool.Conn, ns, campaignID string) (out []store.Claim, unreadable []unreadableClaim, err error) {
	hi, lo := s.campaignLock(ns, campaignID)
	b := &pgx.Batch{}
	b.Queue(sqlBegin)
	b.Queue(sqlLockCampaign, hi, lo)
	b.Queue(s.q.cancelRecord, ns, campaignID)
	b.Queue(s.q.cancel, ns, campaignID)
	br := conn.SendBatch(ctx, b)
	var c cancelRows
	if _, err = br.Exec(); err == nil {
		_, err = br.Exec()
	}
	if err == nil {
		c.through, err = readCancelThrough(br)
	}
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			err = c.scan(rows)
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, err
	}
	if err := s.commitCancel(ctx, conn, ns, &c); err != nil {
		return nil, nil, err
	}
	return c.out, c.unreadable, nil
}

// cancelRows is what a cancellation's transaction removes of the pending
// rows it read, and what it leaves because it cannot decode it.
type cancelRows struct {
	through    int64 // the highest activation whose deliveries go
	out        []store.Claim
	unreadable []unreadableClaim
	users, ids []string // of out
}

// scan reads rows (user_id, id, campaign_id, ready_at, token, body) and
// closes them: it takes each delivery it decodes, unless it is of a
// later activation; it leaves those it cannot decode.
func (c *cancelRows) scan(rows pgx.Rows) error {
	defer rows.Close()
	for rows.Next() {
		var (
			cl    store.Claim
			ready time.Time
			token int64
			body  []byte
		)
		if err := rows.Scan(&cl.UserID, &cl.Pending.ID, &cl.Pending.CampaignID, &ready, &token, &body); err != nil {
			return err
		}
		cl.Pending.ReadyAt, cl.Pending.Token = ready.UTC(), uint64(token)
		if err := decodePending(&cl.Pending, cl.UserID, body); err != nil {
			c.unreadable = append(c.unreadable, unreadableClaim{cl.UserID, cl.Pending.ID, err})
			continue
		}
		if cl.Pending.Activation > c.through {
			continue // a later activation's
		}
		c.out = append(c.out, cl)
		c.users, c.ids = append(c.users, cl.UserID), append(c.ids, cl.Pending.ID)
	}
	rows.Close()
	return rows.Err()
}

// commitCancel deletes the rows c took and commits the transaction,
// waiting for the commit once it is sent.
func (s *Store) commitCancel(ctx context.Context, conn *pgxpool.Conn, ns string, c *cancelRows) error {
	w := &pgx.Batch{}
	if len(c.ids) > 0 {
		w.Queue(s.q.cancelDelete, ns, textArray(c.users), textArray(c.ids))
	}
	w.Queue("COMMIT")
	return sendCommit(ctx, conn, w, nil)
}

// readCancelThrough reads the campaign record cancelOnce queued the
// read of, and returns the highest activation whose deliveries go.
func readCancelThrough(br pgx.BatchResults) (int64, error) {
	var rec store.CampaignRecord
	var state string
	err := br.QueryRow().Scan(&state, &rec.Activation)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.CancelThrough(rec, false), nil
	case err != nil:
		return 0, err
	}
	rec.State = rule.State(state)
	return store.CancelThrough(rec, true), nil
}

// unreadableClaim is a delivery Claim or CancelCampaign could not decode.
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
