package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

const (
	// A row comes back when the ID is new or its remembered window ended:
	// not a duplicate.
	sqlSeenInsert = `INSERT INTO campaignconnector_seen (ns, user_id, event_id, keep_until) VALUES (?1, ?2, ?3, ?4)
		ON CONFLICT (ns, user_id, event_id) DO UPDATE SET keep_until = excluded.keep_until WHERE keep_until <= ?5
		RETURNING 1`
	// The user's state and pending rows in one statement, so in one
	// snapshot: the state on every row, and one row of NULLs when there is
	// no pending row.
	sqlUserRead = `SELECT (SELECT state FROM campaignconnector_users WHERE ns = ?1 AND user_id = ?2),
			p.rowid, p.id, p.campaign_id, p.seq, p.ready_at, p.token, p.data
		FROM (SELECT 1) LEFT JOIN campaignconnector_pending p ON p.ns = ?1 AND p.user_id = ?2 ORDER BY p.seq`
	sqlPendingInsert = `INSERT INTO campaignconnector_pending (ns, user_id, id, campaign_id, seq, ready_at, token, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	sqlPendingUpdate = `UPDATE campaignconnector_pending SET campaign_id = ?, seq = ?, ready_at = ?, token = ?, data = ? WHERE rowid = ?`
	sqlPendingDelete = `DELETE FROM campaignconnector_pending WHERE rowid = ?`
	sqlUserInsert    = `INSERT INTO campaignconnector_users (ns, user_id, state, expires_at, log_first) VALUES (?, ?, ?, ?, ?)`
	sqlUserUpdate    = `UPDATE campaignconnector_users SET state = ?3, expires_at = ?4, log_first = ?5 WHERE ns = ?1 AND user_id = ?2`
	sqlUserDelete    = `DELETE FROM campaignconnector_users WHERE ns = ? AND user_id = ?`
)

// Update implements [store.Store.Update] with one write transaction: it
// records the event ID, reads the user's state and pending rows, runs fn
// and writes what changed. Writes take turns (see the package
// documentation), so fn runs once, unless the file was locked by another
// process past the busy timeout, which runs it again in a new
// transaction.
func (s *Store) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(u *store.UserState, duplicate bool)) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	ops := [1]store.Op{{UserID: userID, Now: now, Dedup: dedup, Fn: fn}}
	var b batch
	err := s.write(ctx, func(t *tx) error { return b.apply(t, ns, ops[:]) })
	if err != nil {
		return wrap("update", err)
	}
	s.woke(ns, b.wake)
	return nil
}

// loaded is a pending row as read, to tell what fn changed.
type loaded struct {
	rowid   int64
	seq     int64
	readyAt int64
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
	l.p.ReadyAt, l.p.Token = timeOf(l.readyAt), uint64(l.token)
	return nil
}

// readUserRows reads sqlUserRead's rows: the state (nil when the user has
// no row) and the pending rows in seq order.
func readUserRows(rows *sql.Rows) (state []byte, old []loaded, err error) {
	for rows.Next() {
		var (
			rowid, seq, ready, token sql.NullInt64
			id, campaignID           sql.NullString
			data                     []byte
		)
		if err := rows.Scan(&state, &rowid, &id, &campaignID, &seq, &ready, &token, &data); err != nil {
			return nil, nil, err
		}
		if !rowid.Valid {
			continue // no pending row: the LEFT JOIN's single row
		}
		l := loaded{rowid: rowid.Int64, seq: seq.Int64, readyAt: ready.Int64, token: token.Int64, data: data}
		l.p.ID, l.p.CampaignID = id.String, campaignID.String
		if err := l.decode(); err != nil {
			return nil, nil, err
		}
		old = append(old, l)
	}
	return state, old, rows.Err()
}

// decodeUser builds the state fn sees from what was read.
func decodeUser(userID string, state []byte, old []loaded) (store.UserState, error) {
	var u store.UserState
	if state != nil {
		if err := json.Unmarshal(state, &u); err != nil {
			return u, fmt.Errorf("decoding the state of user %q: %w", userID, err)
		}
	}
	if len(old) > 0 {
		u.Pending = make([]*store.Pending, len(old))
		for i := range old {
			p := old[i].p
			u.Pending[i] = &p
		}
	}
	return u, nil
}

// writePending makes the user's pending rows match after, and returns the
// earliest ReadyAt among the new rows and those made ready earlier, if
// any. Rows keep their seq unless the order changed; new ones go after
// the previous row.
func writePending(t *tx, ns, userID string, old []loaded, after []*store.Pending) (earlier int64, changed bool, err error) {
	sooner := func(at int64) {
		if !changed || at < earlier {
			earlier, changed = at, true
		}
	}
	var kept []bool
	if len(old) > 0 {
		kept = make([]bool, len(old))
	}
	prev := int64(-1)
	for _, p := range after {
		data, err := encodePending(p)
		if err != nil {
			return 0, false, fmt.Errorf("encoding pending delivery %q: %w", p.ID, err)
		}
		ready, token := nanos(p.ReadyAt), int64(p.Token)
		i := findLoaded(old, p.ID)
		if i < 0 || kept[i] {
			prev++
			if _, err := t.exec(sqlPendingInsert, ns, userID, p.ID, p.CampaignID, prev, ready, token, data); err != nil {
				return 0, false, err
			}
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
		if seq != o.seq || ready != o.readyAt || token != o.token || p.CampaignID != o.p.CampaignID || !bytes.Equal(data, o.data) {
			if _, err := t.exec(sqlPendingUpdate, p.CampaignID, seq, ready, token, data, o.rowid); err != nil {
				return 0, false, err
			}
		}
		if ready < o.readyAt {
			sooner(ready)
		}
	}
	for i := range old {
		if !kept[i] {
			if _, err := t.exec(sqlPendingDelete, old[i].rowid); err != nil {
				return 0, false, err
			}
		}
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

// writeState writes the user's row (state without the pending
// deliveries, which have rows of their own) if it changed: the row exists
// exactly when that state is not empty.
func writeState(t *tx, ns, userID string, before []byte, u *store.UserState) error {
	rest := store.UserState{Receipts: u.Receipts, Sends: u.Sends, Conversions: u.Conversions, Log: u.Log}
	if rest.IsEmpty() {
		if before != nil {
			_, err := t.exec(sqlUserDelete, ns, userID)
			return err
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
	q := sqlUserUpdate
	if before == nil {
		q = sqlUserInsert
	}
	_, err = t.exec(q, ns, userID, state, expires, logFirst)
	return err
}

// pruneKeys returns what Prune looks users up by: the earliest expiry
// among receipts, sends and conversion windows, and the time of the first
// decision of the log (the log is pruned from its start); nil for none.
func pruneKeys(u *store.UserState) (expires, logFirst any) {
	var first int64
	found := false
	at := func(t time.Time) {
		if n := nanos(t); !found || n < first {
			first, found = n, true
		}
	}
	for _, r := range u.Receipts {
		if !r.Expires.IsZero() {
			at(r.Expires)
		}
	}
	for _, x := range u.Sends {
		at(x.Expires)
	}
	for _, c := range u.Conversions {
		at(c.Deadline)
	}
	if found {
		expires = first
	}
	if len(u.Log) > 0 {
		logFirst = nanos(u.Log[0].At)
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
// read in one statement, so in one snapshot.
func (s *Store) User(ctx context.Context, ns, userID string) (store.UserState, error) {
	if err := s.begin(ctx); err != nil {
		return store.UserState{}, err
	}
	var (
		state []byte
		old   []loaded
	)
	err := s.query(ctx, sqlUserRead, func(rows *sql.Rows) (err error) {
		state, old, err = readUserRows(rows)
		return err
	}, ns, userID)
	if err != nil {
		return store.UserState{}, wrap("user", err)
	}
	if state == nil && len(old) == 0 {
		return store.UserState{}, store.ErrNotFound
	}
	u, err := decodeUser(userID, state, old)
	if err != nil {
		return store.UserState{}, wrap("user", err)
	}
	return u, nil
}
