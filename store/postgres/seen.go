package postgres

import (
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
)

// A transaction reads the remembered event IDs of its ops in its first
// round trip and writes the new ones (and the renewed ones) with its other
// writes. New IDs are plain INSERTs rather than INSERT … ON CONFLICT, whose
// speculative insertion costs more: no other transaction writes an ID of
// the transaction's users meanwhile (writers hold the user's advisory
// lock). Prune deletes expired IDs without that lock, so an expired ID the
// transaction read may be gone by its write: a renewal is an INSERT … ON
// CONFLICT, which inserts the ID again or updates the row still there.
// (An UPDATE of the row read would find nothing, and the transaction's
// COMMIT, sent in the same round trip, would commit its other writes
// without the ID.) Renewals are rare: an ID comes back after its window.
const (
	sqlSeenSelectRows = `SELECT k.n, s.keep_until FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS k(u, e, n)
		CROSS JOIN LATERAL (SELECT keep_until FROM {seen} WHERE ns = $1 AND user_id = k.u AND event_id = k.e OFFSET 0) s`
	sqlSeenSelect     = `SELECT 1::int8, keep_until FROM {seen} WHERE ns = $1 AND user_id = $2 AND event_id = $3`
	sqlSeenInsertRows = `INSERT INTO {seen} (ns, user_id, event_id, keep_until)
		SELECT $1, x.u, x.e, x.k FROM unnest($2::text[], $3::text[], $4::timestamptz[]) AS x(u, e, k)`
	sqlSeenInsert    = `INSERT INTO {seen} (ns, user_id, event_id, keep_until) VALUES ($1, $2, $3, $4)`
	sqlSeenRenewRows = sqlSeenInsertRows + ` ON CONFLICT (ns, user_id, event_id) DO UPDATE SET keep_until = EXCLUDED.keep_until`
	sqlSeenRenew     = sqlSeenInsert + ` ON CONFLICT (ns, user_id, event_id) DO UPDATE SET keep_until = EXCLUDED.keep_until`
)

// eventIDs is the event IDs of a batch's ops, each user's ID once, with
// the first op that carries it.
type eventIDs struct {
	users, ids []string
	op         []int     // op[j]: the first op with users[j] and ids[j]
	of         []int     // of[i]: op i's j when it is the first with its ID, -1 when it is a later one
	rows       []seenRow // rows[j], read
}

// seenRow is what the store remembers of an ID.
type seenRow struct {
	found     bool
	keepUntil time.Time
}

type seenKey struct{ user, id string }

func newEventIDs(ops []store.Op) eventIDs {
	var e eventIDs
	var first map[seenKey]int
	for i := range ops {
		op := &ops[i]
		if op.Dedup.EventID == "" {
			continue
		}
		if e.of == nil {
			e.of, first = make([]int, len(ops)), map[seenKey]int{}
		}
		key := seenKey{op.UserID, op.Dedup.EventID}
		if _, ok := first[key]; ok {
			e.of[i] = -1 // a duplicate whatever the first is
			continue
		}
		j := len(e.ids)
		first[key], e.of[i] = j, j
		e.users, e.ids, e.op = append(e.users, op.UserID), append(e.ids, op.Dedup.EventID), append(e.op, i)
	}
	return e
}

// queueRead queues the look-up of the IDs, if any.
func (e *eventIDs) queueRead(b *pgx.Batch, q *queries, ns string) {
	switch len(e.ids) {
	case 0:
	case 1:
		b.Queue(q.seenSelect, ns, e.users[0], e.ids[0])
	default:
		b.Queue(q.seenSelectRows, ns, textArray(e.users), textArray(e.ids))
	}
}

// read reads the result of the look-up queueRead queued.
func (e *eventIDs) read(br pgx.BatchResults) error {
	if len(e.ids) == 0 {
		return nil
	}
	e.rows = make([]seenRow, len(e.ids))
	rows, err := br.Query()
	if err != nil {
		return err
	}
	var (
		n  int64
		at time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&n, &at}, func() error {
		if n < 1 || n > int64(len(e.rows)) {
			return fmt.Errorf("event ID number %d out of range", n)
		}
		e.rows[n-1] = seenRow{found: true, keepUntil: at}
		return nil
	})
	return err
}

// duplicate reports whether op i's event ID was processed before: an op
// before it in the batch has it, or the store remembers it past the op's
// now.
func (e *eventIDs) duplicate(ops []store.Op, i int) bool {
	if ops[i].Dedup.EventID == "" {
		return false
	}
	j := e.of[i]
	if j < 0 {
		return true
	}
	r := &e.rows[j]
	return r.found && r.keepUntil.After(floorTime(ops[i].Now))
}

// queueWrites adds to w the IDs to remember: the new ones, and those whose
// window ended (remembered again, until the op's KeepUntil).
func (e *eventIDs) queueWrites(w *writes, ops []store.Op) {
	for j := range e.ids {
		op := &ops[e.op[j]]
		keep := ceilTime(op.Dedup.KeepUntil)
		switch r := &e.rows[j]; {
		case !r.found:
			w.seenIns.users, w.seenIns.ids, w.seenIns.keep = append(w.seenIns.users, e.users[j]), append(w.seenIns.ids, e.ids[j]), append(w.seenIns.keep, keep)
		case !r.keepUntil.After(floorTime(op.Now)):
			w.seenRenew.users, w.seenRenew.ids, w.seenRenew.keep = append(w.seenRenew.users, e.users[j]), append(w.seenRenew.ids, e.ids[j]), append(w.seenRenew.keep, keep)
		}
	}
}

// seenInserts is event IDs to write, with the time to keep each until:
// new ones (inserted) or renewed ones (upserted).
type seenInserts struct {
	users, ids []string
	keep       []time.Time
}

// queue queues the write of r's IDs, with one (a row) or rows (arrays),
// and reports whether it queued a statement.
func (r *seenInserts) queue(b *pgx.Batch, ns, one, rows string) bool {
	switch len(r.ids) {
	case 0:
		return false
	case 1:
		b.Queue(one, ns, r.users[0], r.ids[0], r.keep[0])
	default:
		b.Queue(rows, ns, textArray(r.users), textArray(r.ids), timeArray(r.keep))
	}
	return true
}
