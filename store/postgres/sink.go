package postgres

import (
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// sink receives the writes of one user's update: queuePendingWrites and
// queueStateWrite describe them, batchSink queues them as statements,
// rowSink gathers many users' into a few.
type sink interface {
	pending(w write, ns, userID, id, campaignID string, seq int32, ready, due time.Time, token int64, data []byte)
	pendingDelete(ns, userID string, ids []string)
	user(w write, ns, userID string, state []byte, expires, logFirst pgtype.Timestamptz, at time.Time)
	userDelete(ns, userID string)
}

// write tells an insert from an update.
type write uint8

const (
	insertRow write = iota
	updateRow
)

// batchSink queues each write as its statement.
type batchSink struct {
	b *pgx.Batch
	q *queries
}

func (s batchSink) pending(w write, ns, userID, id, campaignID string, seq int32, ready, due time.Time, token int64, data []byte) {
	sql := s.q.pendingInsert
	if w == updateRow {
		sql = s.q.pendingUpdate
	}
	s.b.Queue(sql, ns, userID, id, campaignID, seq, ready, token, data, due)
}

func (s batchSink) pendingDelete(ns, userID string, ids []string) {
	s.b.Queue(s.q.pendingDelete, ns, userID, ids)
}

func (s batchSink) user(w write, ns, userID string, state []byte, expires, logFirst pgtype.Timestamptz, at time.Time) {
	sql := s.q.userInsert
	if w == updateRow {
		sql = s.q.userUpdate
	}
	s.b.Queue(sql, ns, userID, state, expires, logFirst, at)
}

func (s batchSink) userDelete(ns, userID string) { s.b.Queue(s.q.userDelete, ns, userID) }

const (
	sqlPendingInsertRows = `INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, token, data, due_at)
		SELECT $1, x.u, x.i, x.c, x.s, x.r, x.t, x.d::json, x.due
		FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[], $6::timestamptz[], $7::int8[], $8::text[], $9::timestamptz[]) AS x(u, i, c, s, r, t, d, due)`
	sqlPendingUpdateRows = `UPDATE {pending} p SET campaign_id = x.c, seq = x.s, ready_at = x.r, token = x.t, data = x.d::json, due_at = x.due
		FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[], $6::timestamptz[], $7::int8[], $8::text[], $9::timestamptz[]) AS x(u, i, c, s, r, t, d, due)
		WHERE p.ns = $1 AND p.user_id = x.u AND p.id = x.i`
	sqlPendingDeleteRows = `DELETE FROM {pending} p USING unnest($2::text[], $3::text[]) AS x(u, i)
		WHERE p.ns = $1 AND p.user_id = x.u AND p.id = x.i`
	sqlUserInsertRows = `INSERT INTO {users} (ns, user_id, state, expires_at, log_first, updated_at)
		SELECT $1, x.u, x.s::json, x.e, x.l, x.t
		FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[]) AS x(u, s, e, l, t)`
	sqlUserUpdateRows = `UPDATE {users} p SET state = x.s::json, expires_at = x.e, log_first = x.l, updated_at = x.t
		FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[]) AS x(u, s, e, l, t)
		WHERE p.ns = $1 AND p.user_id = x.u`
	sqlUserDeleteRows = `DELETE FROM {users} WHERE ns = $1 AND user_id = ANY($2)`
)

// rowSink gathers the writes of many users' updates (one namespace) by
// statement, and queues one statement per kind of write with the rows as
// arrays: a batch's writes cost a handful of statements, not a few per
// user. The users are distinct, so the rows never meet: the order of the
// statements does not matter.
type rowSink struct {
	q                      *queries
	pendingIns, pendingUpd pendingRows
	pendingDel             keyRows
	userIns, userUpd       userRows
	userDel                []string
}

type pendingRows struct {
	users, ids, campaigns []string
	seqs                  []int32
	ready, due            []time.Time
	tokens                []int64
	data                  []string
}

type keyRows struct{ users, ids []string }

type userRows struct {
	users, states     []string
	expires, logFirst []pgtype.Timestamptz
	at                []time.Time
}

func (r *pendingRows) add(userID, id, campaignID string, seq int32, ready, due time.Time, token int64, data []byte) {
	r.users, r.ids, r.campaigns = append(r.users, userID), append(r.ids, id), append(r.campaigns, campaignID)
	r.seqs, r.ready, r.due, r.tokens = append(r.seqs, seq), append(r.ready, ready), append(r.due, due), append(r.tokens, token)
	r.data = append(r.data, string(data))
}

func (r *userRows) add(userID string, state []byte, expires, logFirst pgtype.Timestamptz, at time.Time) {
	r.users, r.states = append(r.users, userID), append(r.states, string(state))
	r.expires, r.logFirst, r.at = append(r.expires, expires), append(r.logFirst, logFirst), append(r.at, at)
}

// The rows are all of the batch's namespace: ns is the one flush is given.

func (s *rowSink) pending(w write, _, userID, id, campaignID string, seq int32, ready, due time.Time, token int64, data []byte) {
	rows := &s.pendingIns
	if w == updateRow {
		rows = &s.pendingUpd
	}
	rows.add(userID, id, campaignID, seq, ready, due, token, data)
}

func (s *rowSink) pendingDelete(_, userID string, ids []string) {
	for _, id := range ids {
		s.pendingDel.users, s.pendingDel.ids = append(s.pendingDel.users, userID), append(s.pendingDel.ids, id)
	}
}

func (s *rowSink) user(w write, _, userID string, state []byte, expires, logFirst pgtype.Timestamptz, at time.Time) {
	rows := &s.userIns
	if w == updateRow {
		rows = &s.userUpd
	}
	rows.add(userID, state, expires, logFirst, at)
}

func (s *rowSink) userDelete(_, userID string) { s.userDel = append(s.userDel, userID) }

// flush queues one statement per kind of write gathered.
func (s *rowSink) flush(b *pgx.Batch, ns string) {
	q := s.q
	if r := &s.pendingDel; len(r.users) > 0 {
		b.Queue(q.pendingDeleteRows, ns, r.users, r.ids)
	}
	for _, w := range []struct {
		sql string
		r   *pendingRows
	}{{q.pendingUpdateRows, &s.pendingUpd}, {q.pendingInsertRows, &s.pendingIns}} {
		if r := w.r; len(r.users) > 0 {
			b.Queue(w.sql, ns, r.users, r.ids, r.campaigns, r.seqs, r.ready, r.tokens, r.data, r.due)
		}
	}
	if len(s.userDel) > 0 {
		b.Queue(q.userDeleteRows, ns, s.userDel)
	}
	for _, w := range []struct {
		sql string
		r   *userRows
	}{{q.userUpdateRows, &s.userUpd}, {q.userInsertRows, &s.userIns}} {
		if r := w.r; len(r.users) > 0 {
			b.Queue(w.sql, ns, r.users, r.states, r.expires, r.logFirst, r.at)
		}
	}
}
