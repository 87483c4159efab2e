package postgres

import (
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// sink receives the writes of one user's update, as the statement of
// queries it would run and its arguments.
type sink interface {
	add(sql string, args ...any)
}

// batchSink queues each write as its statement.
type batchSink struct{ b *pgx.Batch }

func (s batchSink) add(sql string, args ...any) { s.b.Queue(sql, args...) }

const (
	sqlPendingInsertRows = `INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, token, data)
		SELECT $1, x.u, x.i, x.c, x.s, x.r, x.t, x.d::json
		FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[], $6::timestamptz[], $7::int8[], $8::text[]) AS x(u, i, c, s, r, t, d)`
	sqlPendingUpdateRows = `UPDATE {pending} p SET campaign_id = x.c, seq = x.s, ready_at = x.r, token = x.t, data = x.d::json
		FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[], $6::timestamptz[], $7::int8[], $8::text[]) AS x(u, i, c, s, r, t, d)
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
	ready                 []time.Time
	tokens                []int64
	data                  []string
}

type keyRows struct{ users, ids []string }

type userRows struct {
	users, states     []string
	expires, logFirst []pgtype.Timestamptz
	at                []time.Time
}

func (r *pendingRows) add(args []any) {
	r.users = append(r.users, args[1].(string))
	r.ids = append(r.ids, args[2].(string))
	r.campaigns = append(r.campaigns, args[3].(string))
	r.seqs = append(r.seqs, args[4].(int32))
	r.ready = append(r.ready, args[5].(time.Time))
	r.tokens = append(r.tokens, args[6].(int64))
	r.data = append(r.data, string(args[7].([]byte)))
}

func (r *userRows) add(args []any) {
	r.users = append(r.users, args[1].(string))
	r.states = append(r.states, string(args[2].([]byte)))
	r.expires = append(r.expires, args[3].(pgtype.Timestamptz))
	r.logFirst = append(r.logFirst, args[4].(pgtype.Timestamptz))
	r.at = append(r.at, args[5].(time.Time))
}

// add takes the write sql of queries would make with args (ns first).
func (s *rowSink) add(sql string, args ...any) {
	switch sql {
	case s.q.pendingInsert:
		s.pendingIns.add(args)
	case s.q.pendingUpdate:
		s.pendingUpd.add(args)
	case s.q.pendingDelete:
		for _, id := range args[2].([]string) {
			s.pendingDel.users = append(s.pendingDel.users, args[1].(string))
			s.pendingDel.ids = append(s.pendingDel.ids, id)
		}
	case s.q.userInsert:
		s.userIns.add(args)
	case s.q.userUpdate:
		s.userUpd.add(args)
	case s.q.userDelete:
		s.userDel = append(s.userDel, args[1].(string))
	default:
		panic("postgres: rowSink: unknown write " + sql)
	}
}

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
			b.Queue(w.sql, ns, r.users, r.ids, r.campaigns, r.seqs, r.ready, r.tokens, r.data)
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
