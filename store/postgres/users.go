package postgres

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5/pgtype"
)

// The user's state and pending rows in one statement, so in one
// snapshot: the state on every row, and one row of NULLs when there is
// no pending row.
const sqlUserRead = `SELECT (SELECT body FROM {users} WHERE ns = $1 AND user_id = $2), p.id, p.campaign_id, p.ready_at, p.token, p.body
	FROM (SELECT 1) one LEFT JOIN {pending} p ON p.ns = $1 AND p.user_id = $2 ORDER BY p.seq`

// queuePendingWrites adds to w the inserts, updates and deletes that make
// the user's pending rows match after, the bodies encoded into arena, and
// returns the earliest ReadyAt among the new rows and those made ready
// earlier, if any. Rows keep their seq unless the order changed; new ones
// go after the previous row.
func queuePendingWrites(w *writes, arena *[]byte, userID string, old []loaded, after []*store.Pending) (earlier time.Time, changed bool, err error) {
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
		start := len(*arena)
		if *arena, err = appendPending(*arena, userID, p); err != nil {
			return earlier, false, fmt.Errorf("encoding pending delivery %q: %w", p.ID, err)
		}
		body := (*arena)[start:len(*arena):len(*arena)]
		ready, due, token := floorTime(p.ReadyAt), floorTime(p.DueAt), int64(p.Token)
		i := findLoaded(old, p.ID)
		if i < 0 || kept[i] {
			prev++
			w.insertPending(userID, p.ID, p.CampaignID, prev, ready, due, token, body)
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
		if seq != o.seq || !ready.Equal(o.readyAt) || token != o.token || p.CampaignID != o.p.CampaignID || !bytes.Equal(body, o.body) {
			w.updatePending(o.tid, p.CampaignID, seq, ready, due, token, body)
		}
		if ready.Before(o.readyAt) {
			sooner(ready)
		}
	}
	for i := range old {
		if !kept[i] {
			w.deletePending(old[i].tid)
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

// queueStateWrite adds to w the write of the user's row (state without the
// pending deliveries, which have rows of their own) if it changed: the row
// exists exactly when that state is not empty.
func queueStateWrite(w *writes, arena *[]byte, userID string, now time.Time, r *userRead, u *store.UserState) {
	rest := store.UserState{Receipts: u.Receipts, Sends: u.Sends, Conversions: u.Conversions, Log: u.Log}
	if rest.IsEmpty() {
		if r.found {
			w.deleteUser(r.tid)
		}
		return
	}
	start := len(*arena)
	*arena = appendState(*arena, &rest)
	body := (*arena)[start:len(*arena):len(*arena)]
	if r.found && bytes.Equal(body, r.body) {
		return
	}
	expires, logFirst := pruneKeys(&rest)
	if r.found {
		w.updateUser(r.tid, body, expires, logFirst, floorTime(now))
	} else {
		w.insertUser(userID, body, expires, logFirst, floorTime(now))
	}
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
			readyAt        pgtype.Timestamptz
			token          pgtype.Int8
			body           []byte
		)
		if err := rows.Scan(&state, &id, &campaignID, &readyAt, &token, &body); err != nil {
			return u, false, err
		}
		if !id.Valid {
			continue // no pending row: the LEFT JOIN's single row
		}
		p := &store.Pending{ID: id.String, CampaignID: campaignID.String, ReadyAt: readyAt.Time.UTC(), Token: uint64(token.Int64)}
		if err := decodePending(p, userID, body); err != nil {
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
		if err := decodeState(&u, state); err != nil {
			return u, false, fmt.Errorf("decoding the state of user %q: %w", userID, err)
		}
	}
	return u, true, nil
}
