package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	// Every transaction of the store runs at READ COMMITTED, the level its
	// locking is built for (advisory locks per user, FOR UPDATE SKIP
	// LOCKED), whatever default_transaction_isolation the host's pool
	// sets: at REPEATABLE READ or SERIALIZABLE, concurrent claims and
	// updates would fail with serialization errors.
	sqlBegin = `BEGIN ISOLATION LEVEL READ COMMITTED`
	// Every statement of a transaction looks rows up by key: the planner
	// is told to use indexes (and TID scans) and nested loops, so that a
	// plan cached while a table was small, a sequential scan or a hash
	// join, does not stay once the table has grown (a cached plan is made
	// again only when the table is analyzed).
	sqlPlanByIndex = `SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
		set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`
	sqlLockUsers = `SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k`
	// The users' rows, and their pending rows, looked up user by user (the
	// LATERAL subquery is planned for one user ID: an index look-up on the
	// whole key, which a plan for the whole array need not be); each row
	// comes with its user's index in the array, from 1. The pending rows
	// of a user come together, in no order: readChunk sorts them by seq.
	sqlUserSelectRows = `SELECT k.n, u.ctid, u.body FROM unnest($2::text[]) WITH ORDINALITY AS k(id, n)
		CROSS JOIN LATERAL (SELECT ctid, body FROM {users} WHERE ns = $1 AND user_id = k.id OFFSET 0) u`
	sqlPendingSelectRows = `SELECT k.n, p.ctid, p.id, p.campaign_id, p.seq, p.ready_at, p.token, p.body FROM unnest($2::text[]) WITH ORDINALITY AS k(id, n)
		CROSS JOIN LATERAL (SELECT ctid, id, campaign_id, seq, ready_at, token, body FROM {pending}
			WHERE ns = $1 AND user_id = k.id FOR UPDATE) p`
	// Whether a delivery of another user than those of the transaction is
	// due at $2 or before: the wake-up test. It reads the ready index down
	// from $2, where, under steady traffic, the deliveries scheduled just
	// before wait: the low end, where claimed and delivered rows leave
	// dead entries until vacuum (and, while any transaction's snapshot is
	// older than them, entries that every scan must check in the table),
	// is reached only when nothing is due earlier, when a wake-up is
	// needed anyway. The transaction's users are looked up in a hash (a
	// hashed subplan): the rows it just wrote, next to $2, are many.
	sqlEarlierRows = `SELECT (SELECT ready_at FROM {pending} WHERE ns = $1 AND ready_at <= $2 AND user_id NOT IN (SELECT unnest($3::text[]))
		ORDER BY ready_at DESC LIMIT 1) IS NOT NULL`

	// The same for one user.
	sqlUserSelect    = `SELECT 1::int8, ctid, body FROM {users} WHERE ns = $1 AND user_id = $2`
	sqlPendingSelect = `SELECT 1::int8, ctid, id, campaign_id, seq, ready_at, token, body FROM {pending}
		WHERE ns = $1 AND user_id = $2 ORDER BY seq FOR UPDATE`
	sqlEarlier = `SELECT (SELECT ready_at FROM {pending} WHERE ns = $1 AND ready_at <= $2 AND user_id <> $3
		ORDER BY ready_at DESC LIMIT 1) IS NOT NULL`
)

// batchChunk bounds the users of one UpdateBatch transaction: a failure
// rolls back no more than this many ops.
const batchChunk = 1024

var _ store.BatchUpdater = (*Store)(nil)

// Update implements [store.Store.Update]: UpdateBatch's transaction for
// one op.
func (s *Store) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(u *store.UserState, duplicate bool)) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return wrap("update", err)
	}
	defer conn.Release()
	ops := [1]store.Op{{UserID: userID, Now: now, Dedup: dedup, Fn: fn}}
	return wrap("update", s.updateChunk(ctx, conn, ns, ops[:]))
}

// UpdateBatch implements [store.BatchUpdater] with one transaction of two
// round trips per 1,024 ops. The first takes the advisory locks of every
// user of the batch (in key order, so that two batches, or a batch and a
// Prune, cannot deadlock), records the ops' event IDs, and reads the
// users' state and pending rows, locking the pending rows FOR UPDATE so
// that a concurrent Claim (which skips locked rows) or CancelCampaign
// serializes with it; each user's ops then run in slice order, each seeing
// the state the one before left as the store would have stored it; the
// second round trip writes what changed (the new event IDs among it) and
// commits. A deadlock or
// serialization failure rolls everything back and runs the ops again, up
// to 5 times.
//
// One op's data cannot fail the others: when a transaction fails on a
// data error (a value PostgreSQL refuses, such as text with a NUL byte, or
// a state that does not encode), each half of its ops is applied again in
// a transaction of its own, down to the op at fault, which alone gets the
// error. Any other failure (after the retries) sets the same error on
// every op of its transaction, and the ops of later chunks are not tried.
//
// ctx ending stops a transaction before its second round trip, never
// during it: the writes and COMMIT, once sent, are waited for (up to 30 s
// after ctx ends; 5 minutes at most under a ctx without a deadline), so
// that an op reported done is stored and one reported failed is not. A
// connection lost during that round trip, or a commit going on past those
// bounds, is the exception: the ops get the error, and may have been
// stored.
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

// updateChunk applies ops in one transaction, run again after a deadlock
// or a serialization failure, up to maxAttempts times. A conflict
// (errConflict) is not run again: its COMMIT, sent with the writes, has
// committed them, and a second run would apply the ops twice. A
// transaction that scheduled a delivery due no later than every other
// user's wakes ns's engines.
func (s *Store) updateChunk(ctx context.Context, conn *pgxpool.Conn, ns string, ops []store.Op) error {
	ub := s.groupUsers(ns, ops)
	for attempt := 1; ; attempt++ {
		wake, err := s.updateChunkOnce(ctx, conn, ns, ops, &ub)
		if wake {
			s.waker.mark(ns)
		}
		if err == nil {
			return nil
		}
		rollback(conn)
		if !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return err
		}
	}
}

// userOps is a batch's users, each with the indexes of its ops in order,
// and its event IDs.
type userOps struct {
	users []string       // in order of first appearance
	index map[string]int // users[index[u]] == u
	ops   [][]int        // ops[k]: the ops of users[k]
	keys  []int64        // their advisory lock keys, sorted, without repeats
	ids   eventIDs
}

func (s *Store) groupUsers(ns string, ops []store.Op) userOps {
	ub := userOps{index: make(map[string]int, len(ops)), ids: newEventIDs(ops)}
	for i := range ops {
		op := &ops[i]
		k, ok := ub.index[op.UserID]
		if !ok {
			k = len(ub.users)
			ub.index[op.UserID] = k
			ub.users = append(ub.users, op.UserID)
			ub.ops = append(ub.ops, nil)
			ub.keys = append(ub.keys, s.userLock(ns, op.UserID))
		}
		ub.ops[k] = append(ub.ops[k], i)
	}
	slices.Sort(ub.keys)
	ub.keys = slices.Compact(ub.keys)
	return ub
}

// userRead is what the first round trip read of one user.
type userRead struct {
	found   bool // the user has a state row
	tid     pgtype.TID
	body    []byte
	pending []loaded
}

// loaded is a pending row as read, to tell what fn changed.
type loaded struct {
	tid     pgtype.TID
	seq     int32
	readyAt time.Time
	token   int64
	body    []byte
	p       store.Pending // a copy: fn changes the one it is given
}

func (s *Store) updateChunkOnce(ctx context.Context, conn *pgxpool.Conn, ns string, ops []store.Op, ub *userOps) (bool, error) {
	q := s.q
	b := &pgx.Batch{}
	b.Queue(sqlBegin)
	b.Queue(sqlPlanByIndex)
	b.Queue(q.lockUsers, int64Array(ub.keys))
	ub.ids.queueRead(b, q, ns)
	if len(ub.users) == 1 {
		b.Queue(q.userSelect, ns, ub.users[0])
		b.Queue(q.pendingSelect, ns, ub.users[0])
	} else {
		b.Queue(q.userSelectRows, ns, textArray(ub.users))
		b.Queue(q.pendingSelectRows, ns, textArray(ub.users))
	}
	br := conn.SendBatch(ctx, b)
	reads, err := readChunk(br, ub)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}

	var (
		w            writes
		arena        []byte
		earliest     time.Time
		changedUsers []string
	)
	for k, user := range ub.users {
		r := &reads[k]
		var u store.UserState
		if r.found {
			if err := decodeState(&u, r.body); err != nil {
				return false, &dataError{fmt.Errorf("decoding the state of user %q: %w", user, err)}
			}
		}
		if len(r.pending) > 0 {
			u.Pending = make([]*store.Pending, len(r.pending))
			for j := range r.pending {
				p := r.pending[j].p
				u.Pending[j] = &p
			}
		}
		var now time.Time
		for n, i := range ub.ops[k] {
			if n > 0 {
				// What the op before left, as the store would have
				// stored it and the next Update read it back.
				if err := reload(user, &u); err != nil {
					return false, &dataError{err}
				}
			}
			ops[i].Fn(&u, ub.ids.duplicate(ops, i))
			now = ops[i].Now
		}
		earlier, changed, err := queuePendingWrites(&w, &arena, user, r.pending, u.Pending)
		if err != nil {
			return false, &dataError{err}
		}
		queueStateWrite(&w, &arena, user, now, r, &u)
		if changed {
			if len(changedUsers) == 0 || earlier.Before(earliest) {
				earliest = earlier
			}
			changedUsers = append(changedUsers, user)
		}
	}
	ub.ids.queueWrites(&w, ops)
	wb := &pgx.Batch{}
	w.queue(wb, q, ns)
	wb.Queue("COMMIT")
	// Engines wait for the earliest delivery of the namespace: only a
	// delivery due no later than every other user's needs them to look
	// again (the transaction's own users' rows may be its own). Asked
	// after the commit, in the same round trip: an engine that claims the
	// earlier delivery later looks for the next one after that, so it
	// sees this transaction's. (Asked before, the earlier one could be
	// claimed, and the claimer's look-up done, before this commit: no
	// engine would look again.)
	switch len(changedUsers) {
	case 0:
	case 1:
		wb.Queue(q.earlier, ns, earliest, changedUsers[0])
	default:
		wb.Queue(q.earlierRows, ns, earliest, textArray(changedUsers))
	}
	// Once sent, the writes and COMMIT are waited for (commitContext).
	var wake bool
	err = sendCommit(ctx, conn, wb, func(br pgx.BatchResults) (err error) {
		wake, err = readWritten(br, &w, len(changedUsers) > 0)
		return err
	})
	return wake, err
}

// readChunk reads the results of the first round trip: BEGIN, the
// planner's settings, the locks, the remembered event IDs, the users'
// state rows and their pending rows, in (user, seq) order.
func readChunk(br pgx.BatchResults, ub *userOps) ([]userRead, error) {
	for range 3 { // BEGIN, settings, locks
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
	}
	if err := ub.ids.read(br); err != nil {
		return nil, err
	}
	reads := make([]userRead, len(ub.users))
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	var (
		n    int64
		tid  pgtype.TID
		body []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&n, &tid, &body}, func() error {
		if n < 1 || n > int64(len(reads)) {
			return fmt.Errorf("user number %d out of range", n)
		}
		r := &reads[n-1]
		r.found, r.tid, r.body = true, tid, body
		body = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err = br.Query()
	if err != nil {
		return nil, err
	}
	var l loaded
	_, err = pgx.ForEachRow(rows, []any{&n, &l.tid, &l.p.ID, &l.p.CampaignID, &l.seq, &l.readyAt, &l.token, &l.body}, func() error {
		if n < 1 || n > int64(len(reads)) {
			return fmt.Errorf("user number %d out of range", n)
		}
		if err := l.decode(ub.users[n-1]); err != nil {
			return &dataError{err}
		}
		r := &reads[n-1]
		r.pending = append(r.pending, l)
		l = loaded{}
		return nil
	})
	for k := range reads {
		if p := reads[k].pending; len(p) > 1 {
			slices.SortFunc(p, func(a, b loaded) int { return cmp.Compare(a.seq, b.seq) })
		}
	}
	return reads, err
}

// decode fills l.p from its body and columns (ID and CampaignID are
// scanned into it directly).
func (l *loaded) decode(userID string) error {
	if err := decodePending(&l.p, userID, l.body); err != nil {
		return err
	}
	l.readyAt = l.readyAt.UTC()
	l.p.ReadyAt, l.p.Token = l.readyAt, uint64(l.token)
	return nil
}

// readWritten reads the results of the second round trip: the writes,
// COMMIT, then, if asked, whether another user's delivery is due no later
// than the earliest one the transaction scheduled. It reports a wake-up
// as needed if not, or if the look-up failed. A conflict whose COMMIT
// succeeded fails with committedConflict, and a wake-up if any was asked
// (the writes it committed may have scheduled one).
func readWritten(br pgx.BatchResults, w *writes, asked bool) (wake bool, err error) {
	conflict := w.checkWrites(br)
	if conflict != nil && !errors.Is(conflict, errConflict) {
		return false, conflict
	}
	if _, err := br.Exec(); err != nil { // COMMIT
		return false, err
	}
	if conflict != nil {
		return asked, committedConflict(conflict)
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

// reload replaces u by what reading it back from the store would give:
// pending deliveries and state through their encodings, ready times
// rounded down to the microsecond.
func reload(userID string, u *store.UserState) error {
	var buf []byte
	for i, p := range u.Pending {
		var err error
		if buf, err = appendPending(buf[:0], userID, p); err != nil {
			return fmt.Errorf("encoding pending delivery %q: %w", p.ID, err)
		}
		l := loaded{readyAt: floorTime(p.ReadyAt), token: int64(p.Token), body: buf}
		l.p.ID, l.p.CampaignID = p.ID, p.CampaignID
		if err := l.decode(userID); err != nil {
			return err
		}
		u.Pending[i] = &l.p
	}
	return decodeState(u, appendState(buf[:0], u))
}
