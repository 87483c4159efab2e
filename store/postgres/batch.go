package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	sqlUserSelectMany    = `SELECT user_id, state FROM {users} WHERE ns = $1 AND user_id = ANY($2)`
	sqlPendingSelectMany = `SELECT user_id, id, campaign_id, seq, ready_at, token, data FROM {pending}
		WHERE ns = $1 AND user_id = ANY($2) ORDER BY user_id, seq FOR UPDATE`
	// sqlEarlier for a batch: another user is one outside it.
	sqlEarlierMany = `SELECT EXISTS (SELECT 1 FROM {pending} WHERE ns = $1 AND ready_at <= $2 AND user_id <> ALL($3))`
)

// batchChunk bounds the users of one UpdateBatch transaction: a failure
// rolls back no more than this many ops.
const batchChunk = 1024

var _ store.BatchUpdater = (*Store)(nil)

// UpdateBatch implements [store.BatchUpdater] with one transaction of two
// round trips per 1,024 ops, as Update does for one: the first takes the
// advisory locks of every user of the batch (in key order, so that two
// batches, or a batch and a Prune, cannot deadlock), records the ops'
// event IDs in slice order, and reads the users' state and pending rows;
// each user's ops then run in slice order, each seeing the state the one
// before left as the store would have stored it; the second round trip
// writes what changed and commits.
//
// One op's data cannot fail the others: when a transaction fails on a
// data error (a value PostgreSQL refuses, such as text with a NUL byte, or
// a state that does not encode), each half of its ops is applied again in
// a transaction of its own, down to the op at fault, which alone gets the
// error. Any other failure (after the retries Update makes too) sets the
// same error on every op of its transaction, and the ops of later chunks
// are not tried.
func (s *Store) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if err := s.begin(ctx); err != nil {
		setErr(ops, err)
		return err
	}
	if len(ops) == 0 {
		return nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		err = wrap("update batch", err)
		setErr(ops, err)
		return err
	}
	defer conn.Release()
	var first error
	for start := 0; start < len(ops); start += batchChunk {
		end := min(len(ops), start+batchChunk)
		stop, err := s.applyChunk(ctx, conn, ns, ops[start:end])
		if first == nil {
			first = err
		}
		if stop {
			setErr(ops[end:], err)
			break
		}
	}
	return first
}

// setErr sets the Err of every op.
func setErr(ops []store.Op, err error) {
	for i := range ops {
		ops[i].Err = err
	}
}

// applyChunk applies ops in one transaction and sets each op's Err. After
// a data error it applies each half of ops the same way, so that the error
// ends with the ops that cause it. It returns the first error met, and
// whether it was not a data error: the connection or the server failed,
// and later ops should not be tried.
func (s *Store) applyChunk(ctx context.Context, conn *pgxpool.Conn, ns string, ops []store.Op) (stop bool, err error) {
	err = s.updateChunk(ctx, conn, ns, ops)
	switch {
	case err == nil:
		setErr(ops, nil)
		return false, nil
	case len(ops) == 1 || !isDataError(err) || ctx.Err() != nil:
		stop = !isDataError(err) || ctx.Err() != nil
		err = wrap("update batch", err)
		setErr(ops, err)
		return stop, err
	}
	mid := len(ops) / 2
	stop, err = s.applyChunk(ctx, conn, ns, ops[:mid])
	if stop {
		setErr(ops[mid:], err)
		return true, err
	}
	stop, err2 := s.applyChunk(ctx, conn, ns, ops[mid:])
	return stop, cmp.Or(err, err2)
}

// dataError marks an error about the data of a batch's ops (a state or a
// delivery that does not encode or decode) rather than about the
// connection or the transaction.
type dataError struct{ err error }

func (e *dataError) Error() string { return e.err.Error() }
func (e *dataError) Unwrap() error { return e.err }

// isDataError reports whether err comes from the data of the ops that
// caused it, so that running them again fails the same way while the
// other ops of their batch need not fail: a value PostgreSQL refuses
// (SQLSTATE class 22, data exception, as text with a NUL byte or invalid
// UTF-8; 23, integrity constraint violation; 54, program limit exceeded,
// as an index entry too large) or a [dataError].
func isDataError(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:min(2, len(pe.Code))] {
		case "22", "23", "54":
			return true
		}
		return false
	}
	var de *dataError
	return errors.As(err, &de)
}

// updateChunk applies ops in one transaction, retried as Update's is.
func (s *Store) updateChunk(ctx context.Context, conn *pgxpool.Conn, ns string, ops []store.Op) error {
	ub := s.groupUsers(ns, ops)
	return s.retried(ctx, conn, ns, func() (bool, error) { return s.updateChunkOnce(ctx, conn, ns, ops, ub) })
}

// userOps is a batch's users, each with the indexes of its ops in order.
type userOps struct {
	users []string // in order of first appearance
	ops   [][]int  // ops[k]: the ops of users[k]
	keys  []int64  // their advisory lock keys, sorted, without repeats
}

func (s *Store) groupUsers(ns string, ops []store.Op) userOps {
	var ub userOps
	index := make(map[string]int, len(ops))
	for i := range ops {
		k, ok := index[ops[i].UserID]
		if !ok {
			k = len(ub.users)
			index[ops[i].UserID] = k
			ub.users = append(ub.users, ops[i].UserID)
			ub.ops = append(ub.ops, nil)
			ub.keys = append(ub.keys, s.userLock(ns, ops[i].UserID))
		}
		ub.ops[k] = append(ub.ops[k], i)
	}
	slices.Sort(ub.keys)
	ub.keys = slices.Compact(ub.keys)
	return ub
}

func (s *Store) updateChunkOnce(ctx context.Context, conn *pgxpool.Conn, ns string, ops []store.Op, ub userOps) (bool, error) {
	q := s.q
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(q.lockUsers, ub.keys)
	for i := range ops {
		if d := ops[i].Dedup; d.EventID != "" {
			b.Queue(q.seenInsert, ns, ops[i].UserID, d.EventID, ceilTime(d.KeepUntil), floorTime(ops[i].Now))
		}
	}
	b.Queue(q.userSelectMany, ns, ub.users)
	b.Queue(q.pendingSelectMany, ns, ub.users)
	br := conn.SendBatch(ctx, b)
	duplicate, states, olds, err := readLockedMany(br, ops)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}

	rows := &rowSink{q: q}
	var earliest time.Time
	var changedUsers []string
	for k, user := range ub.users {
		var u store.UserState
		if state := states[user]; state != nil {
			if err := json.Unmarshal(state, &u); err != nil {
				return false, &dataError{fmt.Errorf("decoding the state of user %q: %w", user, err)}
			}
		}
		old := olds[user]
		for j := range old {
			p := old[j].p
			u.Pending = append(u.Pending, &p)
		}
		var now time.Time
		for n, i := range ub.ops[k] {
			if n > 0 {
				// What the op before left, as the store would have
				// stored it and the next Update read it back.
				if err := reload(&u); err != nil {
					return false, &dataError{err}
				}
			}
			ops[i].Fn(&u, duplicate[i])
			now = ops[i].Now
		}
		earlier, changed, err := s.queuePendingWrites(rows, ns, user, old, u.Pending)
		if err != nil {
			return false, &dataError{err}
		}
		if err := s.queueStateWrite(rows, ns, user, now, states[user], &u); err != nil {
			return false, &dataError{err}
		}
		if changed {
			if len(changedUsers) == 0 || earlier.Before(earliest) {
				earliest = earlier
			}
			changedUsers = append(changedUsers, user)
		}
	}
	w := &pgx.Batch{}
	rows.flush(w, ns)
	w.Queue("COMMIT")
	// As in Update: engines look again only if nothing outside the batch
	// is due by the earliest delivery it scheduled.
	execs := w.Len()
	if len(changedUsers) > 0 {
		w.Queue(q.earlierMany, ns, earliest, changedUsers)
	}
	br = conn.SendBatch(ctx, w)
	wake, err := readWritten(br, execs, len(changedUsers) > 0)
	_ = br.Close()
	return wake, err
}

// readLockedMany reads the first round trip of a batch: BEGIN, the locks,
// each op's event ID (duplicate[i] for op i), the users' state rows and
// their pending rows.
func readLockedMany(br pgx.BatchResults, ops []store.Op) (duplicate []bool, states map[string][]byte, olds map[string][]loaded, err error) {
	if _, err = br.Exec(); err != nil { // BEGIN
		return
	}
	if _, err = br.Exec(); err != nil { // locks
		return
	}
	duplicate = make([]bool, len(ops))
	for i := range ops {
		if ops[i].Dedup.EventID == "" {
			continue
		}
		if duplicate[i], err = readSeen(br); err != nil {
			return
		}
	}
	rows, err := br.Query()
	if err != nil {
		return
	}
	states = map[string][]byte{}
	for rows.Next() {
		var user string
		var state []byte
		if err = rows.Scan(&user, &state); err != nil {
			rows.Close()
			return
		}
		states[user] = state
	}
	rows.Close()
	if err = rows.Err(); err != nil {
		return
	}
	if rows, err = br.Query(); err != nil {
		return
	}
	defer rows.Close()
	olds = map[string][]loaded{}
	for rows.Next() {
		var user string
		var l loaded
		if err = rows.Scan(&user, &l.p.ID, &l.p.CampaignID, &l.seq, &l.readyAt, &l.token, &l.data); err != nil {
			return
		}
		if err = l.decode(); err != nil {
			err = &dataError{err}
			return
		}
		olds[user] = append(olds[user], l)
	}
	err = rows.Err()
	return
}

// reload replaces u by what reading it back from the store would give:
// pending deliveries and state through their encodings, ready times
// rounded down to the microsecond.
func reload(u *store.UserState) error {
	for i, p := range u.Pending {
		data, err := encodePending(p)
		if err != nil {
			return fmt.Errorf("encoding pending delivery %q: %w", p.ID, err)
		}
		l := loaded{readyAt: floorTime(p.ReadyAt), token: int64(p.Token), data: data}
		l.p.ID, l.p.CampaignID = p.ID, p.CampaignID
		if err := l.decode(); err != nil {
			return err
		}
		u.Pending[i] = &l.p
	}
	rest := store.UserState{Receipts: u.Receipts, Sends: u.Sends, Conversions: u.Conversions, Log: u.Log}
	var back store.UserState
	if !rest.IsEmpty() {
		state, err := json.Marshal(&rest)
		if err != nil {
			return fmt.Errorf("encoding a user's state: %w", err)
		}
		if err := json.Unmarshal(state, &back); err != nil {
			return fmt.Errorf("decoding a user's state: %w", err)
		}
	}
	u.Receipts, u.Sends, u.Conversions, u.Log = back.Receipts, back.Sends, back.Conversions, back.Log
	return nil
}
