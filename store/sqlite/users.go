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
	// The user's state and pending rows in one statement, so in one
	// snapshot: the state on every row, and one row of NULLs when there is
	// no pending row.
	sqlUserRead = `SELECT (SELECT state FROM campaignconnector_users WHERE ns = ?1 AND user_id = ?2),
			p.rowid, p.id, p.campaign_id, p.seq, p.ready_at, p.token, p.data
		FROM (SELECT 1) LEFT JOIN campaignconnector_pending p ON p.ns = ?1 AND p.user_id = ?2 ORDER BY p.seq`
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
	if err := checkNow(now); err != nil {
		return wrap("update", err)
	}
	ops := [1]store.Op{{UserID: userID, Now: now, Dedup: dedup, Fn: fn}}
	var b batch
	err := s.write(ctx, func(t *tx) error { return b.apply(t, ns, ops[:]) })
	if err == nil {
		err = ops[0].Err // the user's rows do not decode: nothing changed
	}
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
func (l *loaded) decode(c *pendingCache) error {
	if err := c.decode(&l.p, l.data); err != nil {
		return err
	}
	l.p.ReadyAt, l.p.Token = timeOf(l.readyAt), uint64(l.token)
	return nil
}

// readUserRows reads sqlUserRead's rows: the state (nil when the user has
// no row) and the pending rows in seq order.
func readUserRows(rows *sql.Rows, c *pendingCache) (state []byte, old []loaded, err error) {
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
		if err := l.decode(c); err != nil {
			return nil, nil, &unreadable{err}
		}
		old = append(old, l)
	}
	return state, old, rows.Err()
}

// unreadable is an error decoding a pending row: what a newer version
// wrote, say. A batch fails the ops of that row's user alone.
type unreadable struct{ err error }

func (e *unreadable) Error() string { return e.err.Error() }
func (e *unreadable) Unwrap() error { return e.err }

// decodeUser builds the state fn sees from what was read. The pending
// deliveries are the pending rows alone: a "pending" field in the state
// column, which this store never writes there (a corrupted or hand-edited
// file), is dropped rather than taken for deliveries, or for nil ones.
func decodeUser(userID string, state []byte, old []loaded) (store.UserState, error) {
	var u store.UserState
	if state != nil {
		if err := json.Unmarshal(state, &u); err != nil {
			return u, fmt.Errorf("decoding the state of user %q: %w", userID, err)
		}
		u.Pending = nil
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
func writePending(w *rowWriter, userID string, old []loaded, after []*store.Pending) (earlier int64, changed bool, err error) {
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
			w.insertPending(userID, p.ID, p.CampaignID, prev, ready, token, data, nanos(p.DueAt))
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
			w.updatePending(o.rowid, p.CampaignID, seq, ready, token, data, nanos(p.DueAt))
		}
		if ready < o.readyAt {
			sooner(ready)
		}
	}
	for i := range old {
		if !kept[i] {
			w.deletePending(old[i].rowid)
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
func writeState(w *rowWriter, userID string, before []byte, u *store.UserState) error {
	rest := store.UserState{Receipts: u.Receipts, Sends: u.Sends, Conversions: u.Conversions, Log: u.Log}
	if rest.IsEmpty() {
		if before != nil {
			w.deleteUser(userID)
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
	w.writeUser(before == nil, userID, state, expires, logFirst)
	return nil
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
	DirectoryErrors int         `json:"directory_errors,omitempty"`
	Sending         bool        `json:"sending,omitempty"`
	CancelOnFailure bool        `json:"cancel_on_failure,omitempty"`
	Backfilled      bool        `json:"backfilled,omitempty"`
	Control         bool        `json:"control,omitempty"`
}

func dataOf(p *store.Pending) pendingData {
	return pendingData{
		Activation: p.Activation, Trigger: p.Trigger, DueAt: p.DueAt, Attempt: p.Attempt, DirectoryErrors: p.DirectoryErrors,
		Sending: p.Sending, CancelOnFailure: p.CancelOnFailure, Backfilled: p.Backfilled, Control: p.Control,
	}
}

func (d *pendingData) apply(p *store.Pending) {
	p.Activation, p.Trigger, p.DueAt, p.Attempt, p.DirectoryErrors = d.Activation, d.Trigger, d.DueAt, d.Attempt, d.DirectoryErrors
	p.Sending, p.CancelOnFailure, p.Backfilled, p.Control = d.Sending, d.CancelOnFailure, d.Backfilled, d.Control
}

// pendingCache memoizes the decoding of pending deliveries' data on the
// writing connection, where it is used under the write turn only: a
// delivery's data is decoded by the Claim that hands it out, then again,
// unchanged, by the update that checks it before its send. The same bytes
// decode to the same values. The decoded trigger's properties are shared between the
// copies handed out, as store.UserState.Clone shares them: the engine
// never changes them. A nil cache decodes every time.
type pendingCache struct {
	m map[string]pendingData
}

// maxCached bounds the cache; it is emptied when full.
const maxCached = 8192

func (c *pendingCache) decode(p *store.Pending, data []byte) error {
	if c != nil {
		if d, ok := c.m[string(data)]; ok {
			d.apply(p)
			return nil
		}
	}
	var d pendingData
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("decoding pending delivery %q: %w", p.ID, err)
	}
	d.apply(p)
	c.put(data, d)
	return nil
}

func encodePending(p *store.Pending) ([]byte, error) {
	d := dataOf(p)
	return json.Marshal(&d)
}

func (c *pendingCache) put(data []byte, d pendingData) {
	if c == nil {
		return
	}
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[string]pendingData, 256)
	}
	c.m[string(data)] = d
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
		state, old, err = readUserRows(rows, nil)
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
