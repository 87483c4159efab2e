package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	sqlLockUser = `SELECT pg_advisory_xact_lock($1)`
	// A row comes back when the ID is new or its remembered window ended:
	// not a duplicate.
	sqlSeenInsert = `INSERT INTO {seen} AS s (ns, user_id, event_id, keep_until) VALUES ($1, $2, $3, $4)
		ON CONFLICT (ns, user_id, event_id) DO UPDATE SET keep_until = EXCLUDED.keep_until WHERE s.keep_until <= $5
		RETURNING 1`
	sqlUserSelect    = `SELECT state FROM {users} WHERE ns = $1 AND user_id = $2`
	sqlPendingSelect = `SELECT id, campaign_id, seq, ready_at, token, data FROM {pending}
		WHERE ns = $1 AND user_id = $2 ORDER BY seq FOR UPDATE`
	// The user's state and pending rows in one statement, so in one
	// snapshot: the state on every row, and one row of NULLs when there is
	// no pending row.
	sqlUserRead = `SELECT (SELECT state FROM {users} WHERE ns = $1 AND user_id = $2), p.id, p.campaign_id, p.seq, p.ready_at, p.token, p.data
		FROM (SELECT 1) one LEFT JOIN {pending} p ON p.ns = $1 AND p.user_id = $2 ORDER BY p.seq`
	sqlPendingInsert = `INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, token, data, due_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	sqlPendingUpdate = `UPDATE {pending} SET campaign_id = $4, seq = $5, ready_at = $6, token = $7, data = $8, due_at = $9
		WHERE ns = $1 AND user_id = $2 AND id = $3`
	sqlPendingDelete = `DELETE FROM {pending} WHERE ns = $1 AND user_id = $2 AND id = ANY($3)`
	sqlUserInsert    = `INSERT INTO {users} (ns, user_id, state, expires_at, log_first, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)`
	sqlUserUpdate = `UPDATE {users} SET state = $3, expires_at = $4, log_first = $5, updated_at = $6
		WHERE ns = $1 AND user_id = $2`
	sqlUserDelete = `DELETE FROM {users} WHERE ns = $1 AND user_id = $2`
)

// Update implements [store.Store.Update] with one transaction of two
// round trips. The first begins it, takes the user's advisory lock (every
// writer of a user's state holds it), records the event ID (a duplicate is
// an ID whose row exists and is still live), and reads the user's state
// and pending rows, locking them FOR UPDATE so that a concurrent Claim
// (which skips locked rows) or CancelCampaign serializes with it. fn runs
// between the round trips; the second writes what changed and commits. A
// deadlock or serialization failure rolls everything back and runs fn
// again, up to 5 times.
func (s *Store) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(u *store.UserState, duplicate bool)) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return wrap("update", err)
	}
	defer conn.Release()
	return wrap("update", s.retried(ctx, conn, ns, func() (bool, error) {
		return s.updateOnce(ctx, conn, ns, userID, now, dedup, fn)
	}))
}

// retried runs once, a transaction on conn, until it succeeds: after a
// deadlock or a serialization failure it rolls back and runs it again, up
// to maxAttempts times. A wake-up once reports is sent to ns's engines.
func (s *Store) retried(ctx context.Context, conn *pgxpool.Conn, ns string, once func() (wake bool, err error)) error {
	for attempt := 1; ; attempt++ {
		wake, err := once()
		if err == nil {
			if wake {
				s.waker.mark(ns)
			}
			return nil
		}
		rollback(conn)
		if !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return err
		}
	}
}

// loaded is a pending row as read, to tell what fn changed.
type loaded struct {
	seq     int32
	readyAt time.Time
	token   int64
	data    []byte
	p       store.Pending // a copy: fn changes the one it is given
}

// decode fills l.p from its data and columns (ID and CampaignID are
// scanned into it directly).
func (l *loaded) decode() error {
	if err := decodePending(&l.p, l.data); err != nil {
		return err
	}
	l.readyAt = l.readyAt.UTC()
	l.p.ReadyAt, l.p.Token = l.readyAt, uint64(l.token)
	return nil
}

func (s *Store) updateOnce(ctx context.Context, conn *pgxpool.Conn, ns, userID string, now time.Time, dedup store.Dedup, fn func(u *store.UserState, duplicate bool)) (bool, error) {
	q := s.q
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(q.lockUser, s.userLock(ns, userID))
	if dedup.EventID != "" {
		b.Queue(q.seenInsert, ns, userID, dedup.EventID, ceilTime(dedup.KeepUntil), floorTime(now))
	}
	b.Queue(q.userSelect, ns, userID)
	b.Queue(q.pendingSelect, ns, userID)
	br := conn.SendBatch(ctx, b)
	duplicate, state, old, err := readLocked(br, dedup.EventID != "")
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}

	var u store.UserState
	if state != nil {
		if err := json.Unmarshal(state, &u); err != nil {
			return false, fmt.Errorf("decoding the state of user %q: %w", userID, err)
		}
	}
	if len(old) > 0 {
		u.Pending = make([]*store.Pending, len(old))
		for i := range old {
			p := old[i].p
			u.Pending[i] = &p
		}
	}
	fn(&u, duplicate)

	w := &pgx.Batch{}
	earlier, changed, err := s.queuePendingWrites(batchSink{w, s.q}, ns, userID, old, u.Pending)
	if err != nil {
		return false, err
	}
	if err := s.queueStateWrite(batchSink{w, s.q}, ns, userID, now, state, &u); err != nil {
		return false, err
	}
	w.Queue("COMMIT")
	// Engines wait for the earliest delivery of the namespace: only a
	// delivery due no later than every other user's needs them to look
	// again (the user's own rows may be this update's). Asked after
	// the commit, in the same round trip: an engine that claims the
	// earlier delivery later looks for the next one after that, so it
	// sees this update's. (Asked before, the earlier one could be claimed,
	// and the claimer's look-up done, before this commit: no engine would
	// look again.) The look-up walks the low end of the ready_at index,
	// where a busy queue leaves dead entries: only updates that scheduled
	// something earlier ask.
	execs := w.Len()
	if changed {
		w.Queue(q.earlier, ns, earlier, userID)
	}
	br = conn.SendBatch(ctx, w)
	wake, err := readWritten(br, execs, changed)
	// Once COMMIT succeeded the update is done: an error closing the batch
	// (the look-up's, or the connection's) changes nothing; before, the
	// error was read already.
	_ = br.Close()
	return wake, err
}

// readWritten reads the results of the second round trip of Update: execs
// writes ending with COMMIT, then, if asked, whether another user's
// delivery is due no later than the earliest one the update scheduled. It
// reports a wake-up as needed if not, or if the look-up failed.
func readWritten(br pgx.BatchResults, execs int, asked bool) (wake bool, err error) {
	for range execs {
		if _, err := br.Exec(); err != nil {
			return false, err
		}
	}
	if !asked {
		return false, nil
	}
	var before bool
	if err := br.QueryRow().Scan(&before); err != nil {
		return true, nil
	}
	return !before, nil
}

// readLocked reads the results of the first round trip of Update, after
// BEGIN and the lock: whether the event is a duplicate, and the user's
// state and pending rows.
func readLocked(br pgx.BatchResults, dedup bool) (duplicate bool, state []byte, old []loaded, err error) {
	if _, err = br.Exec(); err != nil { // BEGIN
		return
	}
	if _, err = br.Exec(); err != nil { // lock
		return
	}
	if dedup {
		if duplicate, err = readSeen(br); err != nil {
			return
		}
	}
	switch err = br.QueryRow().Scan(&state); {
	case errors.Is(err, pgx.ErrNoRows):
		err = nil
	case err != nil:
		return
	}
	rows, err := br.Query()
	if err != nil {
		return
	}
	old, err = scanPending(rows)
	return
}

// readSeen reads the result of an event ID's insert: no row back means the
// ID is remembered and live, a duplicate.
func readSeen(br pgx.BatchResults) (duplicate bool, err error) {
	var one int
	switch err = br.QueryRow().Scan(&one); {
	case errors.Is(err, pgx.ErrNoRows):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}

// scanPending reads pending rows: id, campaign_id, seq, ready_at, token,
// data.
func scanPending(rows pgx.Rows) ([]loaded, error) {
	defer rows.Close()
	var out []loaded
	for rows.Next() {
		var l loaded
		if err := rows.Scan(&l.p.ID, &l.p.CampaignID, &l.seq, &l.readyAt, &l.token, &l.data); err != nil {
			return nil, err
		}
		if err := l.decode(); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// queuePendingWrites queues the inserts, updates and deletes that make the
// user's pending rows match after, and returns the earliest ReadyAt among
// the new rows and those made ready earlier, if any. Rows keep
// their seq unless the order changed; new ones go after the previous row.
func (s *Store) queuePendingWrites(b sink, ns, userID string, old []loaded, after []*store.Pending) (earlier time.Time, changed bool, err error) {
	sooner := func(t time.Time) {
		if !changed || t.Before(earlier) {
			earlier, changed = t, true
		}
	}
	var kept []bool
	if len(old) > 0 {
		kept = make([]bool, len(old))
	}
	prev := int32(-1)
	for _, p := range after {
		data, err := encodePending(p)
		if err != nil {
			return earlier, false, fmt.Errorf("encoding pending delivery %q: %w", p.ID, err)
		}
		ready, due, token := floorTime(p.ReadyAt), floorTime(p.DueAt), int64(p.Token)
		i := findLoaded(old, p.ID)
		if i < 0 || kept[i] {
			prev++
			b.pending(insertRow, ns, userID, p.ID, p.CampaignID, prev, ready, due, token, data)
			sooner(ready)
			continue
		}
		kept[i] = true
		o := &old[i]
		seq := o.seq
		if seq <= prev {
			seq = prev + 1
		}
		prev = seq
		if seq != o.seq || !ready.Equal(o.readyAt) || token != o.token || p.CampaignID != o.p.CampaignID || !bytes.Equal(data, o.data) {
			b.pending(updateRow, ns, userID, p.ID, p.CampaignID, seq, ready, due, token, data)
		}
		if ready.Before(o.readyAt) {
			sooner(ready)
		}
	}
	var gone []string
	for i := range old {
		if !kept[i] {
			gone = append(gone, old[i].p.ID)
		}
	}
	if len(gone) > 0 {
		b.pendingDelete(ns, userID, gone)
	}
	return earlier, changed, nil
}

func findLoaded(old []loaded, id string) int {
	for i := range old {
		if old[i].p.ID == id {
			return i
		}
	}
	return -1
}

// queueStateWrite queues the write of the user's row (state without the
// pending deliveries, which have rows of their own) if it changed: the row
// exists exactly when that state is not empty.
func (s *Store) queueStateWrite(b sink, ns, userID string, now time.Time, before []byte, u *store.UserState) error {
	rest := store.UserState{Receipts: u.Receipts, Sends: u.Sends, Conversions: u.Conversions, Log: u.Log}
	if rest.IsEmpty() {
		if before != nil {
			b.userDelete(ns, userID)
		}
		return nil
	}
	state, err := json.Marshal(&rest)
	if err != nil {
		return fmt.Errorf("encoding the state of user %q: %w", userID, err)
	}
	if bytes.Equal(state, before) {
		return nil
	}
	expires, logFirst := pruneKeys(&rest)
	w := updateRow
	if before == nil {
		w = insertRow
	}
	b.user(w, ns, userID, state, expires, logFirst, floorTime(now))
	return nil
}

// pruneKeys returns what Prune looks users up by, rounded down so that the
// look-up finds every user with something to prune: the earliest expiry
// among receipts, sends and conversion windows, and the time of the first
// decision of the log (the log is pruned from its start).
func pruneKeys(u *store.UserState) (expires, logFirst pgtype.Timestamptz) {
	first := func(t time.Time) {
		if !expires.Valid || t.Before(expires.Time) {
			expires = pgtype.Timestamptz{Time: t, Valid: true}
		}
	}
	for _, r := range u.Receipts {
		if !r.Expires.IsZero() {
			first(r.Expires)
		}
	}
	for _, x := range u.Sends {
		first(x.Expires)
	}
	for _, c := range u.Conversions {
		first(c.Deadline)
	}
	if expires.Valid {
		expires.Time = floorTime(expires.Time)
	}
	if len(u.Log) > 0 {
		logFirst = pgtype.Timestamptz{Time: floorTime(u.Log[0].At), Valid: true}
	}
	return expires, logFirst
}

// pendingData is the part of a pending delivery kept as JSON; ID,
// CampaignID, ReadyAt and Token are columns (Claim changes the last two).
type pendingData struct {
	Activation      int64       `json:"activation"`
	Trigger         event.Event `json:"trigger"`
	DueAt           time.Time   `json:"due_at"`
	Attempt         int         `json:"attempt,omitempty"`
	Sending         bool        `json:"sending,omitempty"`
	CancelOnFailure bool        `json:"cancel_on_failure,omitempty"`
	Backfilled      bool        `json:"backfilled,omitempty"`
	Control         bool        `json:"control,omitempty"`
}

func encodePending(p *store.Pending) ([]byte, error) {
	return json.Marshal(&pendingData{
		Activation: p.Activation, Trigger: p.Trigger, DueAt: p.DueAt, Attempt: p.Attempt,
		Sending: p.Sending, CancelOnFailure: p.CancelOnFailure, Backfilled: p.Backfilled, Control: p.Control,
	})
}

func decodePending(p *store.Pending, data []byte) error {
	var d pendingData
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("decoding pending delivery %q: %w", p.ID, err)
	}
	p.Activation, p.Trigger, p.DueAt, p.Attempt = d.Activation, d.Trigger, d.DueAt, d.Attempt
	p.Sending, p.CancelOnFailure, p.Backfilled, p.Control = d.Sending, d.CancelOnFailure, d.Backfilled, d.Control
	return nil
}

// User implements [store.Store.User]: the state row and the pending rows,
// read in one snapshot.
func (s *Store) User(ctx context.Context, ns, userID string) (store.UserState, error) {
	if err := s.begin(ctx); err != nil {
		return store.UserState{}, err
	}
	u, found, err := s.readUser(ctx, ns, userID)
	if err != nil {
		return store.UserState{}, wrap("user", err)
	}
	if !found {
		return store.UserState{}, store.ErrNotFound
	}
	return u, nil
}

func (s *Store) readUser(ctx context.Context, ns, userID string) (store.UserState, bool, error) {
	var u store.UserState
	rows, err := s.pool.Query(ctx, s.q.userRead, ns, userID)
	if err != nil {
		return u, false, err
	}
	defer rows.Close()
	var state []byte
	for rows.Next() {
		var (
			id, campaignID pgtype.Text
			seq            pgtype.Int4
			readyAt        pgtype.Timestamptz
			token          pgtype.Int8
			data           []byte
		)
		if err := rows.Scan(&state, &id, &campaignID, &seq, &readyAt, &token, &data); err != nil {
			return u, false, err
		}
		if !id.Valid {
			continue // no pending row: the LEFT JOIN's single row
		}
		p := &store.Pending{ID: id.String, CampaignID: campaignID.String, ReadyAt: readyAt.Time.UTC(), Token: uint64(token.Int64)}
		if err := decodePending(p, data); err != nil {
			return u, false, err
		}
		u.Pending = append(u.Pending, p)
	}
	if err := rows.Err(); err != nil {
		return u, false, err
	}
	if state == nil && len(u.Pending) == 0 {
		return u, false, nil
	}
	if state != nil {
		pending := u.Pending
		if err := json.Unmarshal(state, &u); err != nil {
			return u, false, fmt.Errorf("decoding the state of user %q: %w", userID, err)
		}
		u.Pending = pending
	}
	return u, true, nil
}
