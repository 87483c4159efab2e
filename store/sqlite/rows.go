package sqlite

import (
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
)

// rowWriter gathers the row writes of a transaction's updates (one
// namespace) by kind, and writes each kind with a few multi-row
// statements: the cost of a statement (binding aside) is paid per 64
// rows, not per row. The users of a transaction are distinct, so its
// rows never meet: the order of the statements does not matter.
type rowWriter struct {
	ns         string
	pendingIns []any // colsPendingIns values a row, and so on
	pendingUpd []any
	pendingDel []int64
	userIns    []any
	userUpd    []any
	userDel    []string
}

const (
	colsPendingIns = 8 // user_id, id, campaign_id, seq, ready_at, token, data, due_at
	colsPendingUpd = 7 // rowid, campaign_id, seq, ready_at, token, data, due_at
	colsUser       = 4 // user_id, state, expires_at, log_first
	maxRows        = 64
)

const (
	sqlPendingInsertRows = `INSERT INTO campaignconnector_pending (ns, user_id, id, campaign_id, seq, ready_at, token, data, due_at) VALUES `
	// due_at does not change while a delivery waits: it is written again
	// so that an update dates a row a process of an earlier version wrote.
	sqlPendingUpdateHead = `UPDATE campaignconnector_pending AS p SET campaign_id = v.column2, seq = v.column3, ready_at = v.column4,
		token = v.column5, data = v.column6, due_at = v.column7 FROM (VALUES `
	sqlPendingUpdateTail = `) AS v WHERE p.rowid = v.column1`
	sqlPendingDeleteRows = `DELETE FROM campaignconnector_pending WHERE rowid IN (SELECT value FROM json_each(?))`
	sqlUserInsertRows    = `INSERT INTO campaignconnector_users (ns, user_id, state, expires_at, log_first) VALUES `
	sqlUserUpdateHead    = `UPDATE campaignconnector_users AS u SET state = v.column2, expires_at = v.column3, log_first = v.column4
		FROM (VALUES `
	sqlUserUpdateTail = `) AS v WHERE u.ns = ?1 AND u.user_id = v.column1`
	sqlUserDeleteRows = `DELETE FROM campaignconnector_users WHERE ns = ?1 AND user_id IN (SELECT value FROM json_each(?2))`
)

func (w *rowWriter) reset(ns string) {
	clear(w.pendingIns)
	clear(w.pendingUpd)
	clear(w.userIns)
	clear(w.userUpd)
	w.ns, w.pendingIns, w.pendingUpd, w.pendingDel = ns, w.pendingIns[:0], w.pendingUpd[:0], w.pendingDel[:0]
	w.userIns, w.userUpd, w.userDel = w.userIns[:0], w.userUpd[:0], w.userDel[:0]
}

func (w *rowWriter) insertPending(userID, id, campaignID string, seq, ready, token int64, data []byte, due int64) {
	w.pendingIns = append(w.pendingIns, userID, id, campaignID, seq, ready, token, string(data), due)
}

func (w *rowWriter) updatePending(rowid int64, campaignID string, seq, ready, token int64, data []byte, due int64) {
	w.pendingUpd = append(w.pendingUpd, rowid, campaignID, seq, ready, token, string(data), due)
}

func (w *rowWriter) deletePending(rowid int64) { w.pendingDel = append(w.pendingDel, rowid) }

func (w *rowWriter) writeUser(insert bool, userID string, state []byte, expires, logFirst any) {
	if insert {
		w.userIns = append(w.userIns, userID, string(state), expires, logFirst)
	} else {
		w.userUpd = append(w.userUpd, userID, string(state), expires, logFirst)
	}
}

func (w *rowWriter) deleteUser(userID string) { w.userDel = append(w.userDel, userID) }

// flush writes what was gathered.
func (w *rowWriter) flush(t *tx) error {
	if len(w.pendingDel) > 0 {
		ids, err := json.Marshal(w.pendingDel)
		if err != nil {
			return err
		}
		if _, err := t.exec(sqlPendingDeleteRows, string(ids)); err != nil {
			return err
		}
	}
	if len(w.userDel) > 0 {
		ids, err := json.Marshal(w.userDel)
		if err != nil {
			return err
		}
		if _, err := t.exec(sqlUserDeleteRows, w.ns, string(ids)); err != nil {
			return err
		}
	}
	nsArg := []any{w.ns}
	if err := writeRows(t, sqlPendingInsertRows, "", nsArg, true, colsPendingIns, w.pendingIns, nil); err != nil {
		return err
	}
	if err := writeRows(t, sqlPendingUpdateHead, sqlPendingUpdateTail, nil, false, colsPendingUpd, w.pendingUpd, nil); err != nil {
		return err
	}
	if err := writeRows(t, sqlUserInsertRows, "", nsArg, true, colsUser, w.userIns, nil); err != nil {
		return err
	}
	return writeRows(t, sqlUserUpdateHead, sqlUserUpdateTail, nsArg, false, colsUser, w.userUpd, nil)
}

// writeRows runs head + a VALUES list + tail for rows of cols values
// each, after the fixed arguments, in statements of maxRows rows and
// fewer: a power of two each, so that few statements of each kind are
// prepared. With ns, every row starts with ?1, the namespace (the first
// fixed argument). It hands each statement's rows, if it returns any, to
// each.
func writeRows(t *tx, head, tail string, fixed []any, ns bool, cols int, vals []any, each func(*sql.Rows) error) error {
	for len(vals) > 0 {
		n := chunkRows(len(vals) / cols)
		var b strings.Builder
		b.WriteString(head)
		for r := range n {
			if r > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			if ns {
				b.WriteString("?1,")
			}
			for c := range cols {
				if c > 0 {
					b.WriteByte(',')
				}
				b.WriteByte('?')
				if r == 0 && c == 0 {
					// Numbered: the plain placeholders after it continue
					// from it, past the fixed ones wherever they appear.
					b.WriteString(strconv.Itoa(len(fixed) + 1))
				}
			}
			b.WriteByte(')')
		}
		b.WriteString(tail)
		args := make([]any, 0, len(fixed)+n*cols)
		args = append(args, fixed...)
		args = append(args, vals[:n*cols]...)
		if each == nil {
			if _, err := t.exec(b.String(), args...); err != nil {
				return err
			}
		} else if err := t.rows(b.String(), each, args...); err != nil {
			return err
		}
		vals = vals[n*cols:]
	}
	return nil
}

// chunkRows returns how many of rows the next statement writes: maxRows,
// or the largest power of two below rows.
func chunkRows(rows int) int {
	n := maxRows
	for n > rows {
		n /= 2
	}
	return n
}
