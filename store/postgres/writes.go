package postgres

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// The writes of a transaction, one statement per table and kind of write,
// the rows as arrays. Rows the transaction read are updated and deleted by
// their ctid: the reads locked the pending rows, and the users' rows only
// change under their users' advisory locks, which the transaction holds,
// so the ctids stay valid. An UPDATE or DELETE finding fewer rows than it
// was given all the same is errConflict; the check reads the results of a
// round trip that ends with COMMIT, which has committed the transaction's
// other writes by then, so it guards only rows those locks hold, never
// rows another writer may change meanwhile (the event IDs Prune deletes:
// seen.go). Only a writer that skips those locks makes it fail.
const (
	sqlPendingInsertRows = `INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, due_at, token, body)
		SELECT $1, x.u, x.i, x.c, x.s, x.r, x.d, x.t, x.b
		FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[], $6::timestamptz[], $7::timestamptz[], $8::int8[], $9::bytea[]) AS x(u, i, c, s, r, d, t, b)`
	sqlPendingUpdateRows = `UPDATE {pending} p SET campaign_id = x.c, seq = x.s, ready_at = x.r, due_at = x.d, token = x.t, body = x.b
		FROM unnest($1::tid[], $2::text[], $3::int4[], $4::timestamptz[], $5::timestamptz[], $6::int8[], $7::bytea[]) AS x(tid, c, s, r, d, t, b)
		WHERE p.ctid = x.tid`
	sqlPendingDeleteRows = `DELETE FROM {pending} WHERE ctid = ANY($1::tid[])`
	sqlUserInsertRows    = `INSERT INTO {users} (ns, user_id, body, expires_at, log_first, updated_at)
		SELECT $1, x.u, x.b, x.e, x.l, x.t
		FROM unnest($2::text[], $3::bytea[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[]) AS x(u, b, e, l, t)`
	sqlUserUpdateRows = `UPDATE {users} p SET body = x.b, expires_at = x.e, log_first = x.l, updated_at = x.t
		FROM unnest($1::tid[], $2::bytea[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[]) AS x(tid, b, e, l, t)
		WHERE p.ctid = x.tid`
	sqlUserDeleteRows = `DELETE FROM {users} WHERE ctid = ANY($1::tid[])`

	// The same for one row: arrays cost more to encode and decode than
	// their rows when there is one.
	sqlPendingInsert = `INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, due_at, token, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	sqlPendingUpdate = `UPDATE {pending} SET campaign_id = $2, seq = $3, ready_at = $4, due_at = $5, token = $6, body = $7 WHERE ctid = $1`
	sqlPendingDelete = `DELETE FROM {pending} WHERE ctid = $1`
	sqlUserInsert    = `INSERT INTO {users} (ns, user_id, body, expires_at, log_first, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`
	sqlUserUpdate    = `UPDATE {users} SET body = $2, expires_at = $3, log_first = $4, updated_at = $5 WHERE ctid = $1`
	sqlUserDelete    = `DELETE FROM {users} WHERE ctid = $1`
)

// errConflict reports a row that changed between the read of a
// transaction and its write by ctid, found in the results of the round
// trip that ends with COMMIT: the transaction's other writes may have
// committed (committedConflict says when they did).
var errConflict = errors.New("postgres: a row changed during the transaction")

// committedConflict is err, errConflict, once the COMMIT after it
// succeeded: the transaction's other writes are stored, and running it
// again would apply its ops a second time, on the state they left.
func committedConflict(err error) error {
	return fmt.Errorf("%w, by a writer without the user's lock: the transaction's other writes committed", err)
}

// writes gathers the writes of one transaction (one namespace) by
// statement. The users are distinct, so the rows never meet: the order of
// the statements does not matter.
type writes struct {
	seenIns, seenRenew  seenInserts
	pendingIns          pendingInserts
	pendingUpd          pendingUpdates
	pendingDel, userDel []pgtype.TID
	userIns             userInserts
	userUpd             userUpdates
	checks              []int64 // rows each statement must find (-1: any), in queueing order
}

type pendingInserts struct {
	users, ids, campaigns []string
	seqs                  []int32
	ready, due            []time.Time
	tokens                []int64
	bodies                [][]byte
}

type pendingUpdates struct {
	tids      []pgtype.TID
	campaigns []string
	seqs      []int32
	ready     []time.Time
	due       []time.Time
	tokens    []int64
	bodies    [][]byte
}

type userInserts struct {
	users             []string
	bodies            [][]byte
	expires, logFirst []pgtype.Timestamptz
	at                []time.Time
}

type userUpdates struct {
	tids              []pgtype.TID
	bodies            [][]byte
	expires, logFirst []pgtype.Timestamptz
	at                []time.Time
}

func (w *writes) insertPending(userID, id, campaignID string, seq int32, ready, due time.Time, token int64, body []byte) {
	r := &w.pendingIns
	r.users, r.ids, r.campaigns = append(r.users, userID), append(r.ids, id), append(r.campaigns, campaignID)
	r.seqs, r.ready, r.due = append(r.seqs, seq), append(r.ready, ready), append(r.due, due)
	r.tokens, r.bodies = append(r.tokens, token), append(r.bodies, body)
}

func (w *writes) updatePending(tid pgtype.TID, campaignID string, seq int32, ready, due time.Time, token int64, body []byte) {
	r := &w.pendingUpd
	r.tids, r.campaigns = append(r.tids, tid), append(r.campaigns, campaignID)
	r.seqs, r.ready, r.due = append(r.seqs, seq), append(r.ready, ready), append(r.due, due)
	r.tokens, r.bodies = append(r.tokens, token), append(r.bodies, body)
}

func (w *writes) deletePending(tid pgtype.TID) { w.pendingDel = append(w.pendingDel, tid) }

func (w *writes) insertUser(userID string, body []byte, expires, logFirst pgtype.Timestamptz, at time.Time) {
	r := &w.userIns
	r.users, r.bodies = append(r.users, userID), append(r.bodies, body)
	r.expires, r.logFirst, r.at = append(r.expires, expires), append(r.logFirst, logFirst), append(r.at, at)
}

func (w *writes) updateUser(tid pgtype.TID, body []byte, expires, logFirst pgtype.Timestamptz, at time.Time) {
	r := &w.userUpd
	r.tids, r.bodies = append(r.tids, tid), append(r.bodies, body)
	r.expires, r.logFirst, r.at = append(r.expires, expires), append(r.logFirst, logFirst), append(r.at, at)
}

func (w *writes) deleteUser(tid pgtype.TID) { w.userDel = append(w.userDel, tid) }

// queue queues one statement per kind of write gathered (a statement
// for one row when there is one) and returns how many it queued;
// checkWrites reads their results.
func (w *writes) queue(b *pgx.Batch, q *queries, ns string) int {
	w.checks = w.checks[:0]
	check := func(n int) { w.checks = append(w.checks, int64(n)) }
	if w.seenIns.queue(b, ns, q.seenInsert, q.seenInsertRows) {
		check(-1)
	}
	if w.seenRenew.queue(b, ns, q.seenRenew, q.seenRenewRows) {
		check(-1)
	}
	switch d := w.pendingDel; len(d) {
	case 0:
	case 1:
		b.Queue(q.pendingDelete, d[0])
		check(1)
	default:
		b.Queue(q.pendingDeleteRows, tidArray(d))
		check(len(d))
	}
	switch r := &w.pendingUpd; len(r.tids) {
	case 0:
	case 1:
		b.Queue(q.pendingUpdate, r.tids[0], r.campaigns[0], r.seqs[0], r.ready[0], r.due[0], r.tokens[0], r.bodies[0])
		check(1)
	default:
		b.Queue(q.pendingUpdateRows, tidArray(r.tids), textArray(r.campaigns), int32Array(r.seqs), timeArray(r.ready), timeArray(r.due),
			int64Array(r.tokens), bytesArray(r.bodies))
		check(len(r.tids))
	}
	switch r := &w.pendingIns; len(r.users) {
	case 0:
	case 1:
		b.Queue(q.pendingInsert, ns, r.users[0], r.ids[0], r.campaigns[0], r.seqs[0], r.ready[0], r.due[0], r.tokens[0], r.bodies[0])
		check(-1)
	default:
		b.Queue(q.pendingInsertRows, ns, textArray(r.users), textArray(r.ids), textArray(r.campaigns), int32Array(r.seqs),
			timeArray(r.ready), timeArray(r.due), int64Array(r.tokens), bytesArray(r.bodies))
		check(-1)
	}
	switch d := w.userDel; len(d) {
	case 0:
	case 1:
		b.Queue(q.userDelete, d[0])
		check(1)
	default:
		b.Queue(q.userDeleteRows, tidArray(d))
		check(len(d))
	}
	switch r := &w.userUpd; len(r.tids) {
	case 0:
	case 1:
		b.Queue(q.userUpdate, r.tids[0], r.bodies[0], r.expires[0], r.logFirst[0], r.at[0])
		check(1)
	default:
		b.Queue(q.userUpdateRows, tidArray(r.tids), bytesArray(r.bodies), tzArray(r.expires), tzArray(r.logFirst), timeArray(r.at))
		check(len(r.tids))
	}
	switch r := &w.userIns; len(r.users) {
	case 0:
	case 1:
		b.Queue(q.userInsert, ns, r.users[0], r.bodies[0], r.expires[0], r.logFirst[0], r.at[0])
		check(-1)
	default:
		b.Queue(q.userInsertRows, ns, textArray(r.users), bytesArray(r.bodies), tzArray(r.expires), tzArray(r.logFirst), timeArray(r.at))
		check(-1)
	}
	return len(w.checks)
}

// checkWrites reads the results of the statements queue queued: an UPDATE
// or DELETE that found fewer rows than it was given is errConflict,
// returned once every result is read, so that the caller can read the
// COMMIT's next (which runs all the same: no statement failed).
func (w *writes) checkWrites(br pgx.BatchResults) error {
	var conflict error
	for _, want := range w.checks {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if want >= 0 && tag.RowsAffected() != want {
			conflict = errConflict
		}
	}
	return conflict
}
